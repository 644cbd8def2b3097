/**
 * Plans `audit` on a repository shape, then runs the same script against the diligent local
 * Messages API (server.ts) through the real Anthropic provider: the estimate and the actual side
 * by side. Shared by test/cost/estimate-holds.test.ts and `npm run bench:cost`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runWorkflow } from '../../src/engine/run.js';
import { createAnthropicProvider } from '../../src/models/anthropic.js';
import type { CacheStrategy } from '../../src/models/cache-strategy.js';
import { costUsd } from '../../src/models/pricing.js';
import { createPlan, type Plan } from '../../src/plan/plan.js';
import { type ServerTotals, startDiligentServer } from './server.js';

export const MODEL = 'claude-sonnet-5-5';

export function repoOf(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dwf-cost-repo-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init');
  return dir;
}

export interface Actual {
  totals: ServerTotals;
  inputTokens: number;
  usd: number;
  agents: number;
  status: string;
  /** Per phase: agents, tokens (input with cache, and output) and dollars. */
  phases: Map<string, { agents: number; tokens: number; usd: number }>;
}

/** Runs a planned script against a fresh diligent server. */
export async function runAgainstServer(repo: string, script: string, cache?: CacheStrategy): Promise<Actual> {
  const server = await startDiligentServer();
  const runsDir = mkdtempSync(join(tmpdir(), 'dwf-cost-runs-'));
  const phases: Actual['phases'] = new Map();
  try {
    const provider = createAnthropicProvider({
      model: MODEL,
      apiKey: 'test-key',
      baseURL: server.url,
      ...(cache ? { cache } : {}),
    });
    const summary = await runWorkflow({
      source: script,
      file: 'plan.js',
      provider,
      runsDir,
      concurrency: 16,
      env: {},
      isolation: 'off',
      workspace: { repoDir: repo, oracle: { command: 'true', timeoutSeconds: 60 } },
      onEvent: (e) => {
        if (e.type !== 'agent.finished') return;
        const p = phases.get(e.phase ?? '(no phase)') ?? { agents: 0, tokens: 0, usd: 0 };
        const u = e.usage;
        p.agents++;
        p.tokens += u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens;
        p.usd += e.usd ?? 0;
        phases.set(e.phase ?? '(no phase)', p);
      },
    });
    const t = server.totals;
    const usd = costUsd(MODEL, {
      inputTokens: t.input,
      cacheWriteTokens: t.cacheWrite,
      cacheWrite1hTokens: t.cacheWrite1h,
      cacheReadTokens: t.cacheRead,
      outputTokens: t.output,
    })!;
    return {
      totals: { ...t },
      inputTokens: t.input + t.cacheWrite + t.cacheRead,
      usd,
      agents: summary.usage.agents,
      status: summary.status,
      phases,
    };
  } finally {
    await server.close();
    rmSync(runsDir, { recursive: true, force: true });
  }
}

export async function planAudit(repo: string): Promise<Plan> {
  return createPlan({ repoDir: repo, request: 'audit', model: MODEL, allowNoOracle: true });
}

export const within = (n: number, r: { min: number; max: number }) => n >= r.min && n <= r.max;

export function fmtTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}
