import { copyFile, lstat, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { trackedFiles } from '../agents/git.js';
import type { RunEvent } from '../engine/events.js';
import type { DiligentCalibration } from '../models/diligent.js';
import { billedTokens } from '../models/types.js';
import calibration from './calibration.json' with { type: 'json' };

/** The calibration table of the dry runs (src/plan/calibration.json, documented in docs/planning.md). */
export const CALIBRATION: DiligentCalibration & { budgetMargin: number; secondsPerTurn: number } =
  calibration;

export interface Range {
  min: number;
  max: number;
}

/** One phase of the estimate: its agents, its tokens (input, cache included, plus output) and dollars, quiet to busy. */
export interface PhaseEstimate {
  phase: string;
  agents: Range;
  tokens: Range;
  usd: Range | null;
}

/** The run's budget as the plan states it. */
export interface Budgeted {
  usd: number | null;
  tokens: number | null;
  /** `configured`: the settings'; `estimate`: the estimate's maximum times `margin`. */
  source: 'configured' | 'estimate';
  margin?: number;
  /** A sharded run's budget derived from one shard's estimate: times this many shards. */
  shards?: number;
}

const MAX_COPY_BYTES = 2 * 1024 * 1024;

/**
 * The repository's tracked files copied into a plain directory in a temp dir: the dry run's agents
 * read (and, fixing, edit) this copy in place, never the repository, and no worktree is made for
 * them (a plain directory is worked on in place), which keeps a busy world of hundreds of agents
 * quick. Undefined when the directory is not a git checkout (the dry run then has no tools).
 */
export async function copyForDryRun(repoDir: string): Promise<{ dir: string; files: string[] } | undefined> {
  let files: string[];
  try {
    files = await trackedFiles(repoDir);
  } catch {
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'dwf-dry-repo-'));
  for (const path of files) {
    const info = await lstat(join(repoDir, path)).catch(() => undefined);
    if (!info?.isFile() || info.size > MAX_COPY_BYTES) continue;
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await copyFile(join(repoDir, path), join(dir, path));
  }
  return { dir, files };
}

interface Totals {
  agents: number;
  tokens: number;
  usd: number | null;
}

function byPhase(events: RunEvent[]): Map<string, Totals> {
  const phases = new Map<string, Totals>();
  for (const e of events) {
    if (e.type !== 'agent.finished') continue;
    const name = e.phase ?? '(no phase)';
    const t = phases.get(name) ?? { agents: 0, tokens: 0, usd: 0 };
    t.agents++;
    t.tokens += billedTokens(e.usage);
    t.usd = t.usd === null || e.usd === null ? null : t.usd + e.usd;
    phases.set(name, t);
  }
  return phases;
}

const span = (a: number, b: number): Range => ({ min: Math.min(a, b), max: Math.max(a, b) });

/** The phases of both worlds side by side, in the order the busy world (which enters them all) entered them. */
export function phasesOf(quietEvents: RunEvent[], busyEvents: RunEvent[]): PhaseEstimate[] {
  const quiet = byPhase(quietEvents);
  const busy = byPhase(busyEvents);
  const names = [...new Set([...busy.keys(), ...quiet.keys()])];
  const zero: Totals = { agents: 0, tokens: 0, usd: 0 };
  return names.map((phase) => {
    const q = quiet.get(phase) ?? zero;
    const b = busy.get(phase) ?? zero;
    return {
      phase,
      agents: span(q.agents, b.agents),
      tokens: span(q.tokens, b.tokens),
      usd: q.usd === null || b.usd === null ? null : span(q.usd, b.usd),
    };
  });
}

/** The configured budget, or, when none is, the estimate's maximum times the calibrated margin. */
export function budgetFrom(
  estimate: { usd: Range | null; inputTokens: Range; outputTokens: Range },
  configured?: { tokens?: number | null; usd?: number | null },
): Budgeted {
  const tokens = configured?.tokens ?? null;
  const usd = configured?.usd ?? null;
  if (tokens !== null || usd !== null) return { usd, tokens, source: 'configured' };
  return derivedBudget(estimate.usd?.max ?? null, estimate.inputTokens.max + estimate.outputTokens.max);
}

/**
 * A budget from an estimate's maximum times the calibrated margin: in dollars rounded up to the
 * cent when the model has a price, else in tokens.
 */
export function derivedBudget(usdMax: number | null, tokensMax: number): Budgeted {
  const margin = CALIBRATION.budgetMargin;
  if (usdMax !== null) return { usd: round(usdMax * margin), tokens: null, source: 'estimate', margin };
  return { usd: null, tokens: Math.ceil(tokensMax * margin), source: 'estimate', margin };
}

/** Dollars rounded up to the cent (a budget is stated in cents). */
function round(usd: number): number {
  return Math.ceil(usd * 100) / 100;
}
