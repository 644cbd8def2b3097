import { formatTokens, formatUsd, neutralise, plural } from '../report/format.js';
import { type ProgressState, type ShardState, shardTotals, statusLine } from '../report/progress-state.js';
import { runMarker } from './approval.js';
import { isId } from './ids.js';
import { writeMarker } from './markers.js';

/**
 * The progress comment of a run, part of the bot's texts (`texts.ts` re-exports it): pure, data in
 * and markdown out. One run's comment (`runProgress`), and a sharded run's, which every shard's
 * job updates (`shardedProgress`).
 */

export interface ProgressInfo {
  planId: string;
  runUrl?: string;
  /** This Actions run, recorded with the engine's run id so `/workflow resume` finds its artifact. */
  actionsRunId?: string;
}

/** A log line may be 16 KiB; five of them must leave the comment far below GitHub's 65,536 characters. */
const MAX_LOG_LINE = 500;

function clip(line: string): string {
  const flat = line.replace(/\s+/g, ' ');
  return flat.length > MAX_LOG_LINE
    ? `${flat.slice(0, MAX_LOG_LINE)}… [${flat.length - MAX_LOG_LINE} more characters in the run's log]`
    : flat;
}

/** The progress comment's body: phase, agents, tokens, dollars, and the newest log lines. */
export function runProgress(state: ProgressState, info: ProgressInfo): string {
  const lines = [
    `**Running plan \`${info.planId}\`**${info.runUrl ? ` ([job](${info.runUrl}))` : ''}`,
    '',
    `\`${statusLine(state)}\``,
  ];
  // Log lines are the script's words: quoted, on one line, and unable to open an HTML comment.
  if (state.logs.length > 0) lines.push('', ...state.logs.map((l) => `> ${neutralise(clip(l))}`));
  lines.push('', progressMarker(state, info));
  return lines.join('\n');
}

/**
 * The marker every version of the progress comment ends with: this plan ran, and (once both ids are
 * known and valid) which run of the engine and which Actions run it was.
 */
export function progressMarker(state: ProgressState, info: ProgressInfo): string {
  return state.runId &&
    isId('runId', state.runId) &&
    info.actionsRunId &&
    isId('actionsRunId', info.actionsRunId)
    ? runMarker(info.planId, { runId: state.runId, actionsRunId: info.actionsRunId })
    : runMarker(info.planId);
}

/** The most shard rows a sharded run's progress comment lists; beyond them it counts the rest. */
const MAX_SHARD_ROWS = 40;

const cellOf = (text: string) => neutralise(text.replace(/\|/g, '\\|').replace(/\s+/g, ' '));

function shardRow(s: ShardState | undefined, index: number): string {
  if (!s) return `| ${index} | waiting | | | | | |`;
  const agents = `${s.running} · ${s.done} · ${s.failed}${s.queued > 0 ? ` (${s.queued} queued)` : ''}`;
  return `| ${index} | ${s.status} | ${cellOf(s.phase) || '–'} | ${agents} | ${formatTokens(s.tokens)} | ${s.usd === null ? '–' : formatUsd(s.usd)} | ${(s.t / 1000).toFixed(1)}s |`;
}

/**
 * The progress comment of a sharded run while its shards run: a row per shard (state, phase, agents
 * running · done · failed, tokens, dollars, time), the totals, and the run marker carrying every
 * shard's state as data, which the next shard to write merges with its own. A shard with no state
 * yet is waiting. The marker names a shard's run (the first to write one) and this Actions run once
 * known, so a run whose merge never wrote can still be resumed.
 */
export function shardedProgress(o: {
  count: number;
  states: readonly ShardState[];
  info: ProgressInfo;
  /** The engine's run the marker names, which `/workflow resume` quotes. */
  runId?: string | undefined;
}): string {
  const { count, info } = o;
  const byIndex = new Map(o.states.filter((s) => s.index < count).map((s) => [s.index, s]));
  const states = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const total = shardTotals(states);
  const indexes = Array.from({ length: count }, (_, i) => i);
  // Many shards: the ones still going (or that failed) first, the rest counted.
  const listed =
    count <= MAX_SHARD_ROWS
      ? indexes
      : indexes.filter((i) => byIndex.get(i)?.status !== 'completed').slice(0, MAX_SHARD_ROWS);
  const shown = new Set(listed);
  const unlisted = new Map<string, number>();
  for (const i of indexes.filter((i) => !shown.has(i))) {
    const status = byIndex.get(i)?.status ?? 'waiting';
    unlisted.set(status, (unlisted.get(status) ?? 0) + 1);
  }
  const lines = [
    `**Running plan \`${info.planId}\` in ${count} shards**${info.runUrl ? ` ([job](${info.runUrl}))` : ''}: ${total.ended} of ${count} ended.`,
    '',
    '| Shard | State | Phase | Agents (running · done · failed) | Tokens | Dollars | Time |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...listed.map((i) => shardRow(byIndex.get(i), i)),
    `| **all** | ${total.ended} of ${count} ended | | ${total.running} · ${total.done} · ${total.failed} | ${formatTokens(total.tokens)} | ${total.usd === null ? '–' : formatUsd(total.usd)} | |`,
  ];
  if (unlisted.size > 0) {
    const by = [...unlisted].map(([status, n]) => `${n} ${status}`).join(', ');
    lines.push('', `${plural(count - listed.length, 'more shard')} not listed: ${by}.`);
  }
  const attempt =
    o.runId && isId('runId', o.runId) && info.actionsRunId && isId('actionsRunId', info.actionsRunId)
      ? { runId: o.runId, actionsRunId: info.actionsRunId }
      : {};
  lines.push('', writeMarker('run', { planId: info.planId, ...attempt, shards: states }));
  return lines.join('\n');
}
