import {
  type AgentDefinition,
  agentTypesIn,
  type DefinitionDir,
  loadAgentDefinitions,
  repositoryDefinitionDirs,
  unknownAgentType,
} from '../agents/agent-definitions.js';
import type { IsolationMode, RepoCodeRunner } from '../agents/isolation.js';
import { schemaProblem } from '../agents/schema.js';
import type { OracleConfig } from '../agents/tools.js';
import type { Workspace } from '../agents/workspace.js';
import { priceOf } from '../models/pricing.js';
import type { JsonSchema, ModelProvider } from '../models/types.js';
import { type CheckResult, checkScript, ScriptCheckError } from '../script/check.js';
import { GUEST_LIMITS, type SandboxLimits } from '../script/sandbox.js';
import { Budget } from './budget.js';
import type { RunDigest, RunEvent, RunStatus } from './events.js';
import type { UsageLedger, UsageTotals } from './usage.js';

export const MAX_CONCURRENCY = 16;
export const MAX_AGENTS = 1000;

export interface SavedWorkflow {
  source: string;
  file: string;
}

/** Finds a saved workflow by name for `workflow()`, or says where it looked. */
export type WorkflowResolver = (nameOrRef: unknown) => SavedWorkflow;

export interface RunOptions {
  source: string;
  /** How errors name the script, e.g. the path the user gave. */
  file: string;
  args?: unknown;
  provider: ModelProvider;
  runsDir: string;
  concurrency?: number;
  maxAgents?: number;
  /** The hard ceiling of the run, in tokens and/or dollars (null or absent: no ceiling of that kind). */
  budget?: { tokens?: number | null; usd?: number | null };
  /** The id of an earlier run in `runsDir` whose journal this run replays. */
  resume?: string;
  limits?: Partial<SandboxLimits>;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  workflows?: WorkflowResolver;
  /** The repository agents work on; without it agents have no tools and `oracle()` is unavailable. */
  workspace?: WorkspaceOptions;
  /** Secret values to redact everywhere, besides the secret-looking variables of `env`. */
  secrets?: string[];
  /** The environment secrets are looked for in (default: this process's). Commands never see it. */
  env?: NodeJS.ProcessEnv;
  /** Runs repository code (the test command, allowed commands); default: one made for this run from `isolation`. */
  runner?: RepoCodeRunner;
  /** Repository code runs isolated or not at all (`required`, the default), or unisolated (`off`). */
  isolation?: IsolationMode;
  /** A dry run: `oracle()` answers this without running anything (for estimates under `sim`). */
  dryRun?: { oraclePasses: boolean };
  /**
   * Where `agentType` definitions are read (`*.md`, Claude Code's format), later ones first
   * (default: the repository directory's `.claude/agents`). Claude Code's built-in types are always known.
   */
  agentDefinitionDirs?: DefinitionDir[];
  /**
   * Closes the run's work once its script has ended: the flows layer writes the report and commits
   * the changes (`flows/finish.ts`). Without it the run leaves its logs, usage and result only.
   */
  finish?: RunFinisher;
  /**
   * This run is one shard of a run split across runners: `shard(args, { arg, count })` gives the
   * script its slice of the list (see script/shard.ts). Without it `shard()` returns the whole list.
   */
  shard?: { index: number };
}

/** What a run leaves for its finisher: the outcome, the usage, the events' digest and the workspace. */
export interface RunEnding {
  runId: string;
  runDir: string;
  name: string;
  description: string;
  args: unknown;
  /** The provider's id (`sim`, `fixture:...`, `anthropic:...`). */
  model: string;
  status: RunStatus;
  /** Redacted. */
  error?: string;
  /** Redacted. */
  result: unknown;
  digest: RunDigest;
  usage: ReturnType<UsageLedger['toJSON']>;
  durationMs: number;
  /** True when results came from a journal or a fixture rather than from a model. */
  replayed: boolean;
  /** The agents' workspace, when the run had a repository directory. */
  workspace?: Workspace;
  /** Redacts the run's secrets from text the finisher writes. */
  redact(text: string): string;
}

/** What a finisher did: the branch it committed, the report it wrote, and a failure that changes the status. */
export interface FinishedWork {
  branch?: string;
  reportPath?: string;
  /** A reason the run fails after all (e.g. changes holding a secret were not committed). */
  failure?: string;
  /** What the caller should show beside the outcome (e.g. claims of the script the record does not bear out). */
  warnings?: string[];
}

export type RunFinisher = (ending: RunEnding) => Promise<FinishedWork>;

export interface WorkspaceOptions {
  repoDir: string;
  /** The test command: `oracle()` and the agents' `run_tests` tool. */
  oracle?: OracleConfig;
  /** Command lines agents may run, word for word as a prefix (no shell). */
  allowedCommands?: string[];
  commandTimeoutMs?: number;
  maxTurns?: number;
}

export interface RunSummary {
  runId: string;
  status: RunStatus;
  result: unknown;
  error?: string;
  runDir: string;
  usage: UsageTotals;
  resumedFrom?: string;
  /** Agents whose results were replayed from the resumed run's journal, at no cost. */
  replayedAgents: number;
  /** What the finisher found worth a warning (the report says more). */
  warnings?: string[];
  /** Agents that failed (their model call failed for good, or their answer never fit its schema). */
  failedAgents: number;
  /** Why they failed: each reason, in a few words, with how many agents failed for it. */
  failures: Record<string, number>;
  /** The branch holding the run's changes and report, when it changed anything. */
  branch?: string;
  /** report.md, when the run had a finisher that wrote one. */
  reportPath?: string;
  /** Which shard of a split run this run was, when its script took a slice with `shard()`. */
  shard?: { index: number; count: number };
}

/** What the checks of a run's options give the run: the checked script, its caps and its budget. */
export interface CheckedRun {
  checked: Extract<CheckResult, { ok: true }>;
  concurrency: number;
  maxAgents: number;
  budget: Budget;
  /** The agent types the script may name, by name. */
  agentDefinitions: Map<string, AgentDefinition>;
  /** Where they were looked for, for the errors that name an unknown one. */
  agentDefinitionDirs: DefinitionDir[];
}

/** The run's agent definitions; an agent type the script names literally and none defines is refused now. */
function checkAgentTypes(options: RunOptions) {
  const dirs =
    options.agentDefinitionDirs ??
    (options.workspace ? repositoryDefinitionDirs(options.workspace.repoDir) : []);
  const definitions = loadAgentDefinitions(dirs);
  for (const name of agentTypesIn(options.source)) {
    if (!definitions.has(name)) throw new RangeError(unknownAgentType(name, definitions.keys(), dirs));
  }
  return { agentDefinitions: definitions, agentDefinitionDirs: dirs };
}

function checkLimit(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** Checks the script and the run's options, before anything is written; throws what is wrong. */
export function checkRunOptions(options: RunOptions): CheckedRun {
  const checked = checkScript(options.source);
  if (!checked.ok) throw new ScriptCheckError(options.file, checked.diagnostics);

  const index = options.shard?.index;
  if (index !== undefined && !(Number.isInteger(index) && index >= 0)) {
    throw new RangeError(`the shard index must be a whole number from 0, got ${String(index)}`);
  }
  const concurrency = checkLimit('concurrency', options.concurrency ?? MAX_CONCURRENCY, MAX_CONCURRENCY);
  const maxAgents = checkLimit('maxAgents', options.maxAgents ?? MAX_AGENTS, MAX_AGENTS);
  const budget = new Budget(options.budget?.tokens ?? null, options.budget?.usd ?? null);
  for (const [name, value] of [
    ['budget.tokens', budget.totalTokens],
    ['budget.usd', budget.totalUsd],
  ] as const) {
    if (value !== null && !(Number.isFinite(value) && value > 0))
      throw new RangeError(`${name} must be a number > 0`);
  }
  if (budget.totalUsd !== null && !priceOf(options.provider.modelFor(options.provider.defaultModel))) {
    throw new RangeError(
      `a dollar budget needs prices, and model "${options.provider.defaultModel}" has none; use a token budget instead`,
    );
  }
  return { checked, concurrency, maxAgents, budget, ...checkAgentTypes(options) };
}

const AGENT_OPTION_KEYS = new Set(['label', 'phase', 'schema', 'model', 'effort', 'isolation', 'agentType']);

export interface AgentOptions {
  label?: string;
  phase?: string;
  schema?: JsonSchema;
  model?: string;
  effort?: string;
  isolation?: 'worktree';
  agentType?: string;
  /** The definition `agentType` names, resolved by the host (never set by a script). */
  definition?: AgentDefinition;
}

/** Checks the options a script passed to `agent()`; throws what is wrong, as the script will see it. */
export function agentOptions(raw: unknown): AgentOptions {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TypeError('agent(prompt, opts): opts must be an object');
  const opts = raw as Record<string, unknown>;
  for (const key of Object.keys(opts)) {
    if (!AGENT_OPTION_KEYS.has(key)) {
      throw new TypeError(`agent(): unknown option "${key}" (known: ${[...AGENT_OPTION_KEYS].join(', ')})`);
    }
  }
  for (const key of ['label', 'phase', 'model', 'effort', 'agentType'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'string') {
      throw new TypeError(`agent(): opts.${key} must be a string`);
    }
    const length = typeof opts[key] === 'string' ? opts[key].length : 0;
    if (length > GUEST_LIMITS.phase) {
      throw new RangeError(
        `agent(): opts.${key} is ${length} characters; the limit is ${GUEST_LIMITS.phase}`,
      );
    }
  }
  if (opts.isolation !== undefined && opts.isolation !== 'worktree') {
    throw new TypeError(`agent(): opts.isolation must be 'worktree' when given`);
  }
  if (opts.schema !== undefined) {
    const problem = schemaProblem(opts.schema);
    if (problem) throw new TypeError(`agent(): ${problem}`);
  }
  return opts as AgentOptions;
}
