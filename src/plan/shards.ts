/**
 * How many runners a planned run is split across (issue 15): the count from the estimate's wall
 * time, the configured cap and the list's length; the slices (`splitShards`, the one split the
 * sandbox's `shard()` and the runner side use too); each shard's share of the budget; and the
 * estimate of one shard, from a dry run of the largest slice.
 */
import { splitShards } from '../script/shard.js';
import { derivedBudget } from './dry-run.js';
import type { Budgeted, Estimate, EstimateOptions } from './estimate.js';
import { estimateScript } from './estimate.js';

/** The most shards a plan may have: a job matrix runs at most 256 jobs. */
export const MAX_SHARDS = 256;
/** Sharding is opt-in: one runner unless the configuration allows more. */
export const DEFAULT_MAX_SHARDS = 1;
/** The wall time a shard should stay under, in minutes, when the configuration names none. */
export const DEFAULT_SHARD_TARGET_MINUTES = 60;

export interface ShardSettings {
  /** The most runners a run may be split across (default 1: no sharding). */
  maxShards?: number;
  /** The wall time each shard should stay under, in minutes (default 60). */
  shardTargetMinutes?: number;
}

/** A shard's estimate: from a dry run of the largest slice, whose size every other slice is at most. */
export interface ShardEstimate {
  /** The items of the slice that was dry-run (slice 0, the largest). */
  items: number;
  agents: Estimate['agents'];
  tokens: Estimate['inputTokens'];
  usd: Estimate['usd'];
  wallSeconds: Estimate['wallSeconds'];
  problems: string[];
}

/** A plan split across runners: present only when the count is 2 or more. */
export interface PlanShards {
  /** The list argument split (the workflow's `meta.shard`). */
  arg: string;
  count: number;
  /** The items of each shard, in order: `splitShards(args[arg], count)`. */
  slices: string[][];
  /** Each shard's budget: the run's (configured, or derived from the estimate) divided by the count. */
  budgetEach: { tokens: number | null; usd: number | null };
  /** The wall time each shard is meant to stay under, in minutes. */
  targetMinutes: number;
  /** The most shards the configuration allowed. */
  maxShards: number;
  /** One shard's estimate (a dry run of the largest slice). */
  estimateEach?: ShardEstimate;
}

/**
 * The number of shards: enough for each to stay under the target wall time by the estimate's
 * maximum, at most `maxShards`, and never more than the list has items; at least 1.
 */
export function shardCount(o: {
  wallSecondsMax: number;
  maxShards: number;
  targetMinutes: number;
  items: number;
}): number {
  const needed = Math.ceil(o.wallSecondsMax / (o.targetMinutes * 60));
  return Math.max(1, Math.min(o.maxShards, needed, o.items));
}

/** The run's budget divided among the shards, rounded down (tokens to a whole one, dollars to a cent). */
export function budgetEach(
  budget: Pick<Budgeted, 'tokens' | 'usd'> | undefined,
  count: number,
): { tokens: number | null; usd: number | null } {
  return {
    tokens: budget?.tokens != null ? Math.floor(budget.tokens / count) : null,
    usd: budget?.usd != null ? Math.floor((budget.usd / count) * 100) / 100 : null,
  };
}

/** The settings checked: whole numbers of at least 1, with their defaults. */
export function shardSettings(o: ShardSettings): { maxShards: number; targetMinutes: number } {
  const maxShards = o.maxShards ?? DEFAULT_MAX_SHARDS;
  const targetMinutes = o.shardTargetMinutes ?? DEFAULT_SHARD_TARGET_MINUTES;
  if (!Number.isInteger(maxShards) || maxShards < 1 || maxShards > MAX_SHARDS)
    throw new RangeError(`maxShards must be a whole number from 1 to ${MAX_SHARDS}, got ${maxShards}`);
  if (!(Number.isFinite(targetMinutes) && targetMinutes > 0))
    throw new RangeError(`shardTargetMinutes must be a number of minutes above 0, got ${targetMinutes}`);
  return { maxShards, targetMinutes };
}

/**
 * The shards of a planned run, or nothing when it runs on one runner: the workflow declares no
 * `meta.shard`, its argument is not a list, or the count comes to 1.
 */
export function planShards(o: {
  shardArg: unknown;
  args: Record<string, unknown>;
  estimate: Estimate;
  settings: ShardSettings;
}): PlanShards | undefined {
  const { maxShards, targetMinutes } = shardSettings(o.settings);
  if (maxShards < 2 || typeof o.shardArg !== 'string') return undefined;
  const list = o.args[o.shardArg];
  if (!Array.isArray(list)) return undefined;
  const count = shardCount({
    wallSecondsMax: o.estimate.wallSeconds.max,
    maxShards,
    targetMinutes,
    items: list.length,
  });
  if (count < 2) return undefined;
  return {
    arg: o.shardArg,
    count,
    slices: splitShards(list.map(String), count),
    budgetEach: budgetEach(o.estimate.budget, count),
    targetMinutes,
    maxShards,
  };
}

/** The same split with another count: its slices and each shard's budget again. */
function withCount(
  shards: PlanShards,
  count: number,
  list: string[],
  budget: Budgeted | undefined,
): PlanShards {
  const { estimateEach: _stale, ...rest } = shards;
  return { ...rest, count, slices: splitShards(list, count), budgetEach: budgetEach(budget, count) };
}

/** How many more dry runs of one shard `settleShards` may make. */
const SETTLE_TRIES = 3;

/**
 * The count checked against one shard's own estimate. The whole run's dry run stops at the
 * run's agent cap, so for a long list its wall time (and the count from it) comes out too low;
 * while the largest slice still reaches the cap or its busy end is over the target, the count
 * grows (by the overshoot, at least doubling when capped), up to `maxShards` and the list's
 * length, with at most SETTLE_TRIES more dry runs. Returns the shards with `estimateEach` set.
 */
export async function settleShards(
  first: PlanShards,
  o: {
    list: string[];
    budget: Budgeted | undefined;
    maxAgents: number;
    estimate(shards: PlanShards): Promise<ShardEstimate>;
  },
): Promise<PlanShards> {
  const limit = Math.min(first.maxShards, o.list.length);
  let shards = first;
  for (let tries = 0; ; tries++) {
    const each = await o.estimate(shards);
    shards = { ...shards, estimateEach: each };
    const capped = each.agents.max >= o.maxAgents;
    const over = each.wallSeconds.max / (shards.targetMinutes * 60);
    if ((!capped && over <= 1) || shards.count >= limit || tries >= SETTLE_TRIES) return shards;
    const grown = Math.ceil(shards.count * (capped ? Math.max(2, over) : over));
    shards = withCount(shards, Math.min(limit, Math.max(shards.count + 1, grown)), o.list, o.budget);
  }
}

/**
 * The run's budget once it is sharded. A configured budget stays. One derived from the estimate
 * is derived again from one shard's own estimate, times the count: the whole run's dry run stops
 * at the agent cap, so for a long list its maximum (and a budget from it) is below what the
 * shards need, and every shard would stop at its share before its slice is done. Returns the
 * budget and the shards with their share of it.
 */
export function shardedBudget(
  budget: Budgeted | undefined,
  shards: PlanShards,
): { budget: Budgeted | undefined; shards: PlanShards } {
  const each = shards.estimateEach;
  if (budget?.source !== 'estimate' || !each) return { budget, shards };
  // One shard's budget, by the same rule as a whole run's, times the count (in cents, exactly).
  const one = derivedBudget(each.usd?.max ?? null, each.tokens.max);
  const fromEach: Budgeted = {
    ...one,
    usd: one.usd === null ? null : Math.round(one.usd * shards.count * 100) / 100,
    tokens: one.tokens === null ? null : one.tokens * shards.count,
    shards: shards.count,
  };
  const larger =
    (fromEach.usd ?? 0) > (budget.usd ?? 0) || (fromEach.tokens ?? 0) > (budget.tokens ?? 0)
      ? fromEach
      : budget;
  return { budget: larger, shards: { ...shards, budgetEach: budgetEach(larger, shards.count) } };
}

/** One shard's estimate: the script with the largest slice bound, dry-run as a whole run is. */
export async function estimateShard(
  shards: PlanShards,
  bind: (args: Record<string, unknown>) => string,
  args: Record<string, unknown>,
  options: Omit<EstimateOptions, 'source'>,
): Promise<ShardEstimate> {
  const largest = shards.slices[0]!;
  const { worlds: _worlds, ...e } = await estimateScript({
    ...options,
    source: bind({ ...args, [shards.arg]: largest }),
  });
  return {
    items: largest.length,
    agents: e.agents,
    tokens: {
      min: e.inputTokens.min + e.outputTokens.min,
      max: e.inputTokens.max + e.outputTokens.max,
    },
    usd: e.usd,
    wallSeconds: e.wallSeconds,
    problems: e.problems,
  };
}
