import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '../engine/events.js';
import { type RunSummary, runWorkflow } from '../engine/run.js';
import { savedWorkflows } from '../engine/saved-workflows.js';
import { priceOf } from '../models/pricing.js';
import { createSimProvider } from '../models/sim.js';

export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'workflows');

export interface Range {
  min: number;
  max: number;
}

export interface Estimate {
  agents: Range;
  inputTokens: Range;
  outputTokens: Range;
  /** Null when the model has no known price. */
  usd: Range | null;
  wallSeconds: Range;
  model: string;
  /** Why a world did not finish, if one did not: a script that fails a dry run is not ready. */
  problems: string[];
  /** True when the top of the range is above the budget. */
  overBudget?: { tokens?: boolean; usd?: boolean };
}

export interface EstimateOptions {
  source: string;
  file: string;
  args?: unknown;
  /** The model the run will use, for prices and cache sizes. */
  model: string;
  concurrency: number;
  maxAgents: number;
  budget?: { tokens?: number | null; usd?: number | null };
  /** Seconds of real time one agent takes; the dry run measures how many run one after another. */
  secondsPerAgent?: number;
  /** The repository, whose saved workflows `workflow()` may use (the built-in ones always). */
  repoDir?: string;
}

export interface WorldRun {
  summary: RunSummary;
  events: RunEvent[];
  wallSeconds: number;
}

/** Simulated agent latency in a dry run: long enough to measure waves, short enough to be quick. */
const DRY_LATENCY_MS = 5;
/** CPU a dry run's script may use: a model wrote it and nobody has approved it yet. */
export const DRY_RUN_CPU_MS = 10_000;

/** Runs a script under `sim` in one world; the oracle answers as that world would. */
export async function dryRun(options: EstimateOptions, world: 'quiet' | 'busy'): Promise<WorldRun> {
  const runsDir = mkdtempSync(join(tmpdir(), 'dwf-dry-run-'));
  const events: RunEvent[] = [];
  try {
    const provider = createSimProvider({
      latencyMs: DRY_LATENCY_MS,
      seed: 0,
      items: 1,
      world,
      ...(priceOf(options.model) ? { as: options.model } : {}),
    });
    const summary = await runWorkflow({
      source: options.source,
      file: options.file,
      ...(options.args !== undefined ? { args: options.args } : {}),
      provider,
      runsDir,
      concurrency: options.concurrency,
      maxAgents: options.maxAgents,
      dryRun: { oraclePasses: world === 'quiet' },
      limits: { cpuMs: DRY_RUN_CPU_MS },
      env: {},
      workflows: savedWorkflows({ repoDir: options.repoDir ?? runsDir, builtinDir: BUILTIN_DIR }),
      // The same agent definitions as the run, so that a script naming one is estimated, not refused.
      agentDefinitionDirs: [
        join(BUILTIN_DIR, 'agents'),
        ...(options.repoDir ? [join(options.repoDir, '.claude', 'agents')] : []),
      ],
      onEvent: (e) => events.push(e),
    });
    return { summary, events, wallSeconds: sequentialAgents(events) * (options.secondsPerAgent ?? 60) };
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
}

/**
 * How many agents had to run one after another: an agent that starts after another has finished
 * comes one step later (because it waited for its result, or for its slot under the concurrency cap).
 */
export function sequentialAgents(events: RunEvent[]): number {
  const step = new Map<number, number>();
  let finished = 0;
  let longest = 0;
  for (const e of events) {
    if (e.type === 'agent.started') {
      step.set(e.index, finished + 1);
      longest = Math.max(longest, finished + 1);
    } else if (e.type === 'agent.finished' && step.has(e.index)) {
      finished = Math.max(finished, step.get(e.index)!);
    }
  }
  return longest;
}

function range(a: number, b: number): Range {
  return { min: Math.min(a, b), max: Math.max(a, b) };
}

/**
 * The size of a run before it spends anything: the script runs under `sim` in a quiet world
 * (agents find nothing) and a busy one (everything is found, nothing is ever done, so every loop
 * runs to its cap). Tokens include the estimated effect of prompt caching; dollars use the run's
 * model; wall time counts the agents that must run one after another at the run's concurrency.
 */
export async function estimateScript(
  options: EstimateOptions,
): Promise<Estimate & { worlds: { quiet: WorldRun; busy: WorldRun } }> {
  const quiet = await dryRun(options, 'quiet');
  const busy = await dryRun(options, 'busy');
  const problems = (['quiet', 'busy'] as const).flatMap((name) => {
    const { summary } = name === 'quiet' ? quiet : busy;
    return summary.status === 'completed' ? [] : [`the ${name} dry run ${summary.status}: ${summary.error}`];
  });
  const q = quiet.summary.usage;
  const b = busy.summary.usage;
  const input = (u: typeof q) => u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  const estimate: Estimate & { worlds: { quiet: WorldRun; busy: WorldRun } } = {
    agents: range(q.agents, b.agents),
    inputTokens: range(input(q), input(b)),
    outputTokens: range(q.outputTokens, b.outputTokens),
    usd: q.usd !== null && b.usd !== null ? range(q.usd, b.usd) : null,
    wallSeconds: range(quiet.wallSeconds, busy.wallSeconds),
    model: options.model,
    problems,
    worlds: { quiet, busy },
  };
  const tokensMax = estimate.inputTokens.max + estimate.outputTokens.max;
  const overTokens = options.budget?.tokens != null && tokensMax > options.budget.tokens;
  const overUsd =
    options.budget?.usd != null && estimate.usd !== null && estimate.usd.max > options.budget.usd;
  if (overTokens || overUsd)
    estimate.overBudget = { ...(overTokens ? { tokens: true } : {}), ...(overUsd ? { usd: true } : {}) };
  return estimate;
}
