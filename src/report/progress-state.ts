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
