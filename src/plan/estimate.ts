import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repositoryDefinitionDirs } from '../agents/agent-definitions.js';
import type { RunEvent } from '../engine/events.js';
import { type RunSummary, runWorkflow } from '../engine/run.js';
import { savedWorkflows } from '../engine/saved-workflows.js';
import type { CacheStrategy } from '../models/cache-strategy.js';
import { createDiligentProvider } from '../models/diligent.js';
import { detectOracle } from './assess.js';
import {
  type Budgeted,
  budgetFrom,
  CALIBRATION,
  copyForDryRun,
  type PhaseEstimate,
  phasesOf,
  type Range,
} from './dry-run.js';

export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'workflows');

export type { Budgeted, PhaseEstimate, Range } from './dry-run.js';

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
  /** Agents, tokens and dollars phase by phase, in the order the script enters them. */
  phases?: PhaseEstimate[];
  /** The run's budget: the configured one, or the estimate's maximum times a margin. */
  budget?: Budgeted;
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
  /** The repository: its files are what the dry run's agents read (a copy), its saved workflows what `workflow()` may use. */
  repoDir?: string;
  /** Where the simulated provider puts cache breakpoints (default: the real provider's). */
  cache?: CacheStrategy;
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

/**
 * Runs a script in one world with the diligent simulated model, through the real agent loop and
 * tools over a copy of the repository's tracked files (the repository itself is never touched);
 * the oracle answers as that world would and repository code never runs.
 */
export async function dryRun(
  options: EstimateOptions,
  world: 'quiet' | 'busy',
  copy?: { dir: string; files: string[] },
): Promise<WorldRun> {
  const runsDir = mkdtempSync(join(tmpdir(), 'dwf-dry-run-'));
  const events: RunEvent[] = [];
  try {
    const provider = createDiligentProvider({
      model: options.model,
      world,
      calibration: CALIBRATION,
      latencyMs: DRY_LATENCY_MS,
      ...(options.cache ? { cache: options.cache } : {}),
    });
    const oracle = copy ? detectOracle(copy.dir, copy.files) : null;
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
      ...(copy
        ? {
            workspace: {
              repoDir: copy.dir,
              ...(oracle ? { oracle: { command: oracle.command, timeoutSeconds: 600 } } : {}),
            },
          }
        : {}),
      workflows: savedWorkflows({ repoDir: options.repoDir ?? runsDir, builtinDir: BUILTIN_DIR }),
      // The same agent definitions as the run: a script naming one is estimated, not refused.
      agentDefinitionDirs: [join(BUILTIN_DIR, 'agents'), ...(copy ? repositoryDefinitionDirs(copy.dir) : [])],
      onEvent: (e) => events.push(e),
    });
    const seconds = options.secondsPerAgent ?? 60;
    return { summary, events, wallSeconds: sequentialAgents(events) * seconds };
  } finally {
    // Retries: a transcript may still be landing in the run directory as the run returns.
    rmSync(runsDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
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
 * The size of a run before it spends anything: the script runs with the diligent simulated model
 * in a quiet world (agents find nothing) and a busy one (the calibrated most findings per file,
 * nothing is ever done, so every loop runs to its cap). Tokens are counted as the API bills them,
 * prompt caching included; dollars use the run's model; wall time counts the agents that must run
 * one after another at the run's concurrency.
 */
export async function estimateScript(
  options: EstimateOptions,
): Promise<Estimate & { worlds: { quiet: WorldRun; busy: WorldRun } }> {
  const copy = options.repoDir ? await copyForDryRun(options.repoDir) : undefined;
  let quiet: WorldRun;
  let busy: WorldRun;
  try {
    quiet = await dryRun(options, 'quiet', copy);
    busy = await dryRun(options, 'busy', copy);
  } finally {
    if (copy) rmSync(copy.dir, { recursive: true, force: true });
  }
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
    phases: phasesOf(quiet.events, busy.events),
    worlds: { quiet, busy },
  };
  estimate.budget = budgetFrom(estimate, options.budget);
  const tokensMax = estimate.inputTokens.max + estimate.outputTokens.max;
  const overTokens = options.budget?.tokens != null && tokensMax > options.budget.tokens;
  const overUsd =
    options.budget?.usd != null && estimate.usd !== null && estimate.usd.max > options.budget.usd;
  if (overTokens || overUsd)
    estimate.overBudget = { ...(overTokens ? { tokens: true } : {}), ...(overUsd ? { usd: true } : {}) };
  return estimate;
}
