import { resolve } from 'node:path';
import { listRuns, type RunListing } from '../engine/run-record.js';
import { formatTokens, formatUsd } from '../report/format.js';
import { formatMs } from '../report/trace-text.js';
import { type CliIo, parseFlags, UsageError } from './options.js';

/** The runs directory of `dwf runs` and `dwf show`: `--runs-dir`, else `.dwf/runs`. */
export function runsDirOf(io: CliIo, flag: string | undefined): string {
  return resolve(io.cwd, flag ?? '.dwf/runs');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function runsTable(runs: RunListing[]): string {
  const rows = runs.map((r) => [
    r.runId,
    r.workflow,
    r.status,
    `${r.agents}${r.replayedAgents > 0 ? ` (${r.replayedAgents} replayed)` : ''}`,
    formatTokens(r.tokens),
    r.usd === null && r.tokens > 0 ? '$ unknown' : formatUsd(r.usd ?? 0),
    r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.durationMs === null ? '-' : formatMs(r.durationMs),
  ]);
  return table([['RUN', 'WORKFLOW', 'STATUS', 'AGENTS', 'TOKENS', 'COST', 'STARTED', 'DURATION'], ...rows]);
}

/** `dwf runs`: the runs in a runs directory, newest first. */
export function runs(rest: string[], io: CliIo): number {
  const { values, positionals } = parseFlags('runs', rest, {
    'runs-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`runs takes no arguments, got "${positionals[0]}"`);
  const dir = runsDirOf(io, values['runs-dir']);
  const list = listRuns(dir);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(list)}\n`);
    return 0;
  }
  if (list.length === 0) {
    io.stdout.write(`no runs in ${dir}\n`);
    return 0;
  }
  io.stdout.write(`${runsTable(list)}\n`);
  return 0;
}
