import type { RunEvent } from '../engine/events.js';
import { billedTokens } from '../models/types.js';
import { formatTokens, formatUsd } from './format.js';

/** What a progress view shows, kept from the event stream alone. */
export interface ProgressState {
  phase: string;
  queued: number;
  running: number;
  done: number;
  failed: number;
  /** Agents waiting to retry a failed model call. */
  retrying: number[];
  /** The newest retry, in a few words: `Connection error, retry 3 of 12`. */
  lastRetry?: string;
  replayed: number;
  tokens: number;
  usd: number | null;
  /** Milliseconds since the run started. */
  t: number;
  /** The newest log lines, oldest first. */
  logs: string[];
  runId?: string;
  /** The run's ceiling, when it has one: spend is shown against it. */
  budget?: { tokens: number | null; usd: number | null };
}

export function emptyProgress(): ProgressState {
  return {
    phase: '',
    queued: 0,
    running: 0,
    done: 0,
    failed: 0,
    retrying: [],
    replayed: 0,
    tokens: 0,
    usd: null,
    t: 0,
    logs: [],
  };
}

const KEEP_LOGS = 5;

/** Folds one event into the state (in place: views call this for every event of a run). */
export function applyEvent(state: ProgressState, event: RunEvent): ProgressState {
  state.t = event.t;
  switch (event.type) {
    case 'run.started':
      state.runId = event.runId;
      if (event.budget) state.budget = event.budget;
      break;
    case 'phase':
      state.phase = event.phase;
      break;
    case 'log':
      state.logs = [...state.logs, event.message].slice(-KEEP_LOGS);
      break;
    case 'agent.queued':
      state.queued++;
      break;
    case 'agent.retry':
      if (!state.retrying.includes(event.index)) state.retrying = [...state.retrying, event.index];
      state.lastRetry = `${event.reason}, retry ${event.attempt} of ${event.of}`;
      break;
    case 'agent.turn':
      state.retrying = state.retrying.filter((i) => i !== event.index);
      break;
    case 'agent.started':
      state.queued--;
      state.running++;
      break;
    case 'agent.finished':
      state.retrying = state.retrying.filter((i) => i !== event.index);
      if (event.replayed) state.replayed++;
      else if (event.attempts === 0 && event.status === 'stopped') state.queued--;
      else state.running--;
      if (event.status === 'completed') state.done++;
      else state.failed++;
      state.tokens += billedTokens(event.usage);
      if (event.usd !== null && !event.replayed) state.usd = (state.usd ?? 0) + event.usd;
      break;
    default:
      break;
  }
  return state;
}

/** One line: phase, agents by state, tokens and dollars (against the budget, when there is one), and time. */
export function statusLine(s: ProgressState): string {
  return [
    s.phase || 'starting',
    `${s.running} running`,
    `${s.done} done`,
    ...(s.retrying.length > 0 ? [`${s.retrying.length} retrying (${s.lastRetry})`] : []),
    ...(s.failed > 0 ? [`${s.failed} failed`] : []),
    ...(s.queued > 0 ? [`${s.queued} queued`] : []),
    ...(s.replayed > 0 ? [`${s.replayed} replayed`] : []),
    `${formatTokens(s.tokens)}${s.budget?.tokens ? ` of ${formatTokens(s.budget.tokens)}` : ''} tokens`,
    ...(s.usd !== null || s.budget?.usd
      ? [`${formatUsd(s.usd ?? 0)}${s.budget?.usd ? ` of ${formatUsd(s.budget.usd)}` : ''}`]
      : []),
    `${(s.t / 1000).toFixed(1)}s`,
  ].join(' · ');
}

// A sharded run: one progress comment that every shard's job updates.

/** How a shard stands, as the shared progress comment shows it. */
export type ShardStatus = 'running' | 'completed' | 'failed' | 'stopped';

/**
 * One shard's progress as data: what its job last wrote into the shared comment's marker. `version`
 * orders the versions of one shard's state (the newest has the highest): each writer counts it up
 * from the clock, so a job re-run later always writes a newer one than the attempt before it.
 */
export interface ShardState {
  index: number;
  version: number;
  status: ShardStatus;
  phase: string;
  running: number;
  done: number;
  failed: number;
  queued: number;
  tokens: number;
  usd: number | null;
  /** Milliseconds since the shard's run started. */
  t: number;
}

/**
 * The longest phase name a shard's state keeps: a few words, so that the states of 256 shards fit in
 * one comment (GitHub's limit is 65,536 characters).
 */
export const MAX_SHARD_PHASE = 32;

/** A shard's progress state as the data its job writes into the shared comment. */
export function shardStateOf(
  index: number,
  version: number,
  status: ShardStatus,
  s: ProgressState,
): ShardState {
  return {
    index,
    version,
    status,
    // On one line, and no dash runs (a marker writes each `--` escaped, six characters longer).
    phase: [...s.phase.replace(/\s+/g, ' ').replace(/-{2,}/g, '–')].slice(0, MAX_SHARD_PHASE).join(''),
    running: Math.max(0, s.running),
    done: s.done,
    failed: s.failed,
    queued: Math.max(0, s.queued),
    tokens: s.tokens,
    usd: s.usd === null ? null : Math.round(s.usd * 1e6) / 1e6,
    t: Math.round(s.t),
  };
}

/**
 * Every shard's newest state among several readings (each a list of shard states, in any order):
 * per shard, the one with the highest version. So a writer that read an older version of another
 * shard's state than one it saw before never writes the older one back.
 */
export function newestShardStates(...readings: ReadonlyArray<readonly ShardState[]>): ShardState[] {
  const newest = new Map<number, ShardState>();
  for (const reading of readings)
    for (const state of reading) {
      const known = newest.get(state.index);
      if (!known || state.version > known.version) newest.set(state.index, state);
    }
  return [...newest.values()].sort((a, b) => a.index - b.index);
}

/** What the shards add up to: agents by state, tokens and dollars (unknown only when no shard knows). */
export function shardTotals(states: readonly ShardState[]) {
  const sum = (pick: (s: ShardState) => number) => states.reduce((n, s) => n + pick(s), 0);
  const priced = states.filter((s) => s.usd !== null);
  return {
    running: sum((s) => s.running),
    done: sum((s) => s.done),
    failed: sum((s) => s.failed),
    queued: sum((s) => s.queued),
    tokens: sum((s) => s.tokens),
    usd: priced.length === 0 ? null : priced.reduce((n, s) => n + (s.usd ?? 0), 0),
    ended: states.filter((s) => s.status !== 'running').length,
  };
}

/**
 * The state of a shard that completed in an earlier attempt of the run (a resume does not run it
 * again): completed, at version 0 so that nothing a shard writes is older, with what it spent then.
 * The shards job puts these in the progress comment it posts; each shard's update keeps them.
 */
export function shardDoneBefore(
  index: number,
  spent: { done?: number; tokens?: number; usd?: number | null } = {},
): ShardState {
  return {
    index,
    version: 0,
    status: 'completed',
    phase: 'completed in an earlier run',
    running: 0,
    done: spent.done ?? 0,
    failed: 0,
    queued: 0,
    tokens: spent.tokens ?? 0,
    usd: spent.usd ?? null,
    t: 0,
  };
}
