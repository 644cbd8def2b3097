import type { IsolationMode } from '../agents/isolation.js';
import type { ModelProvider } from '../models/types.js';

/**
 * What settings are made of: the repository's configuration (`.github/dynamic-workflows.yml`,
 * whose schema fits this shape) or a door's overrides (the CLI's flags, the action's inputs).
 * An absent field leaves the one below it; a budget replaces the budget below it as a whole.
 */
export interface SettingsLayer {
  concurrency?: number | undefined;
  maxAgents?: number | undefined;
  budget?: { tokens?: number | null | undefined; usd?: number | null | undefined } | undefined;
  oracle?: { command?: string | undefined; timeoutSeconds?: number | undefined } | undefined;
  scope?: { include?: string[] | undefined; exclude?: string[] | undefined } | undefined;
  isolation?: IsolationMode | undefined;
  allowedCommands?: string[] | undefined;
  commitReport?: boolean | undefined;
  maxShards?: number | undefined;
  shardTargetMinutes?: number | undefined;
}

/** Where a plan or run happens and with what: the same for every door. */
export interface Place {
  /** The repository directory the plan assesses and the run's agents work on. */
  repoDir: string;
  /** Where run directories go (a run needs it; a plan does not). */
  runsDir?: string;
  /** The model the run uses (and the planner prices and, for requests in words, writes with). */
  provider: ModelProvider;
  /** The environment secrets are looked for in; commands never see it. */
  env?: NodeJS.ProcessEnv;
  /** Secret values to redact from everything (the job's token, the model key, configured ones). */
  secrets?: string[];
  /** Stops a run early (Ctrl-C, a cancelled job). */
  signal?: AbortSignal;
}

const PLACE_KEYS = ['repoDir', 'runsDir', 'provider', 'env', 'secrets', 'signal'] as const;

/** The place a door's options name: the fields of `Place` they set (none of their others). */
export function placeOf<P extends Place>(options: P): Pick<P, keyof Place & keyof P> {
  const place: Partial<Place> = {};
  for (const key of PLACE_KEYS) if (options[key] !== undefined) Object.assign(place, { [key]: options[key] });
  return place as Pick<P, keyof Place & keyof P>;
}

/** Everything a plan or a run needs, built once per request from configuration and overrides. */
export interface RunSettings extends Place {
  /** Agents at once; the engine's maximum when absent. */
  concurrency?: number;
  /** Agents per run; the engine's maximum when absent. */
  maxAgents?: number;
  /** The hard ceiling of the run, in tokens and/or dollars (null: no ceiling of that kind). */
  budget: { tokens: number | null; usd: number | null };
  /** The test command (none: detected by the planner, or no oracle) and how long it may run. */
  oracle: { command?: string; timeoutSeconds: number };
  scope: { include: string[]; exclude: string[] };
  isolation: IsolationMode;
  /** Command lines agents may run, word for word as a prefix. */
  allowedCommands: string[];
  /** Commit report.md and usage.json on the run's branch too (default: only the changes). */
  commitReport: boolean;
  /** The most runners a planned run may be split across (the planner's default, 1, when absent). */
  maxShards?: number;
  /** The wall time each shard should stay under, in minutes (the planner's default, 60, when absent). */
  shardTargetMinutes?: number;
  /** This run is one shard of a split run: its index (see script/shard.ts). */
  shard?: { index: number };
}

export const DEFAULT_ORACLE_TIMEOUT_SECONDS = 600;

/** The settings of one request: the layers merged in order, each over the ones before it. */
export function runSettings<P extends Place>(place: P, ...layers: SettingsLayer[]): RunSettings & P {
  const settings: RunSettings & P = {
    ...place,
    budget: { tokens: null, usd: null },
    oracle: { timeoutSeconds: DEFAULT_ORACLE_TIMEOUT_SECONDS },
    scope: { include: [], exclude: [] },
    isolation: 'required',
    allowedCommands: [],
    commitReport: false,
  };
  for (const layer of layers) {
    if (layer.concurrency !== undefined) settings.concurrency = layer.concurrency;
    if (layer.maxAgents !== undefined) settings.maxAgents = layer.maxAgents;
    if (layer.budget !== undefined)
      settings.budget = { tokens: layer.budget.tokens ?? null, usd: layer.budget.usd ?? null };
    if (layer.oracle?.command !== undefined) settings.oracle.command = layer.oracle.command;
    if (layer.oracle?.timeoutSeconds !== undefined)
      settings.oracle.timeoutSeconds = layer.oracle.timeoutSeconds;
    if (layer.scope?.include !== undefined) settings.scope.include = layer.scope.include;
    if (layer.scope?.exclude !== undefined) settings.scope.exclude = layer.scope.exclude;
    if (layer.isolation !== undefined) settings.isolation = layer.isolation;
    if (layer.allowedCommands !== undefined) settings.allowedCommands = layer.allowedCommands;
    if (layer.commitReport !== undefined) settings.commitReport = layer.commitReport;
    if (layer.maxShards !== undefined) settings.maxShards = layer.maxShards;
    if (layer.shardTargetMinutes !== undefined) settings.shardTargetMinutes = layer.shardTargetMinutes;
  }
  return settings;
}
