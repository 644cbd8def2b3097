import type { UsageTotals } from '../engine/usage.js';
import { billedTokens } from '../models/types.js';
import { batchSavingLines } from './batch-saving.js';
import { cell, formatTokens, formatUsd, neutralise, plural } from './format.js';

/** What happened to one shard of a sharded run, as the merge saw it. */
export interface ShardOutcome {
  index: number;
  /**
   * `merged`: its changes are on the branch; `no changes`: it completed without any; `left out`:
   * its changes could not be merged (`why` says why); `missing`: no completed run of it is here.
   */
  state: 'merged' | 'no changes' | 'left out' | 'missing';
  /** The completed run of the shard whose changes count (none for a missing shard). */
  runId?: string;
  /** Its newest run's status when that run did not complete (`failed`, `stopped`, `unfinished`). */
  status?: string;
  /** Why its changes were left out, or why it is missing. */
  why?: string;
  /** Files its changes touch. */
  files: string[];
  /** Runs of this shard found (a killed run and its resumption are two). */
  attempts: number;
  /** What every attempt of this shard spent with the model, replayed answers not counted twice. */
  spent: UsageTotals;
  /** Agents answered from a journal in the completed run (spent by an earlier attempt, counted there). */
  replayedAgents: number;
  /** The shard's own report.md, when it completed. */
  report?: string;
}

export interface ShardsReportInput {
  name: string;
  /** The merge's own run id (its branch is `dwf/<runId>`). */
  runId: string;
  count: number;
  base: string;
  branch?: string;
  shards: ShardOutcome[];
  /** The sum of every shard's spend, exactly: tokens added as integers, dollars per model. */
  totals: UsageTotals;
  byModel: Record<string, UsageTotals>;
  /** How to re-run only the missing shards, in the words of the door that ran them. */
  resume: string;
  /** The repository's tests on the merged branch, when they were run. */
  oracle?: { command: string; passed: boolean; summary: string };
}

/** Room under GitHub's 65,536 characters of a pull request's body for what goes above the report. */
export const MAX_REPORT_CHARS = 60_000;

/** The overall status: completed when every shard completed and every change merged. */
export function shardsStatus(shards: readonly ShardOutcome[]): 'completed' | 'partial' {
  return shards.every((s) => s.state === 'merged' || s.state === 'no changes') ? 'completed' : 'partial';
}

/** A shard's own report, one heading level down, so its sections sit under the shard's heading. */
function nested(report: string): string[] {
  // A shard's report comes from its artifact: nothing in it may open an HTML comment (a marker) in
  // the bot's pull request.
  return neutralise(report)
    .trimEnd()
    .split('\n')
    .map((line) => (/^#{1,5} /.test(line) ? `##${line}` : line));
}

function changesCell(s: ShardOutcome): string {
  if (s.state === 'merged') return `merged (${plural(s.files.length, 'file')})`;
  if (s.state === 'no changes') return 'none';
  if (s.state === 'left out') return `left out: ${cell(s.why ?? 'unknown')}`;
  return `missing: ${cell(s.why ?? 'no completed run')}`;
}

/** report.md of a sharded run: totals, one line per shard, what is missing and how to resume, then each shard's report. */
export function renderShardsReport(input: ShardsReportInput): string {
  const status = shardsStatus(input.shards);
  const incomplete = input.shards.filter((s) => s.state === 'missing' || s.state === 'left out');
  const t = input.totals;
  const lines = [
    `# ${cell(input.name)}: ${status}`,
    '',
    `- shards: ${input.count}, merged in order onto \`${input.base.slice(0, 12)}\``,
    ...(input.branch
      ? [`- branch: \`${input.branch}\``]
      : ['- branch: none (no shard changed anything that merged)']),
    `- spent: ${plural(t.agents, 'agent')}, ${formatTokens(billedTokens(t))} tokens (${t.inputTokens} input, ` +
      `${t.outputTokens} output, ${t.cacheWriteTokens} cache write, ${t.cacheReadTokens} cache read), ${formatUsd(t.usd)}`,
  ];
  if (input.oracle) {
    lines.push(
      `- tests on the merged branch (\`${cell(input.oracle.command)}\`): ${input.oracle.passed ? 'passing' : 'failing'} (${cell(input.oracle.summary)})`,
    );
  }
  if (incomplete.length > 0) {
    lines.push(
      '',
      '> [!WARNING]',
      `> **${plural(incomplete.length, 'shard')} not in this branch**: ${incomplete
        .map(
          (s) =>
            `shard ${s.index} (${s.state === 'missing' ? cell(s.why ?? 'no completed run') : `left out: ${cell(s.why ?? '')}`})`,
        )
        .join('; ')}.`,
      `> ${input.resume}`,
    );
  }
  lines.push(
    '',
    '## Shards',
    '',
    '| shard | state | run | attempts | agents | tokens | dollars | changes |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...input.shards.map(
      (s) =>
        `| ${s.index} | ${s.state === 'missing' ? (s.status ?? 'missing') : 'completed'} | ${s.runId ? `\`${s.runId}\`` : '–'} | ` +
        `${s.attempts} | ${s.spent.agents}${s.replayedAgents > 0 ? ` (${s.replayedAgents} of them replayed)` : ''} | ` +
        `${billedTokens(s.spent)} | ${formatUsd(s.spent.usd)} | ${changesCell(s)} |`,
    ),
    `| all | ${status} | \`${input.runId}\` | ${input.shards.reduce((n, s) => n + s.attempts, 0)} | ${t.agents} | ${billedTokens(t)} | ${formatUsd(t.usd)} | ${plural(input.shards.filter((s) => s.state === 'merged').length, 'shard')} merged |`,
    '',
    '## Token accounting',
    '',
    'Every attempt of every shard, summed; an answer replayed from a journal is counted once, where it was spent.',
    ...batchSavingLines({ totals: t, byModel: input.byModel }),
    '',
    '| model | agents | input | cache write | cache read | output | dollars |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(input.byModel).map(
      ([model, u]) =>
        `| ${cell(model)} | ${u.agents} | ${u.inputTokens} | ${u.cacheWriteTokens} | ${u.cacheReadTokens} | ${u.outputTokens} | ${formatUsd(u.usd)} |`,
    ),
    `| total | ${t.agents} | ${t.inputTokens} | ${t.cacheWriteTokens} | ${t.cacheReadTokens} | ${t.outputTokens} | ${formatUsd(t.usd)} |`,
  );
  // Each shard's own report while the whole stays within what a pull request's body may hold.
  let length = lines.join('\n').length;
  const left: number[] = [];
  for (const s of input.shards.filter((shard) => shard.report !== undefined)) {
    const section = ['', `## Shard ${s.index} (run \`${s.runId}\`)`, '', ...nested(s.report!)];
    const size = section.join('\n').length + 1;
    if (length + size > MAX_REPORT_CHARS) {
      left.push(s.index);
      continue;
    }
    lines.push(...section);
    length += size;
  }
  if (left.length > 0) {
    lines.push(
      '',
      `The own reports of ${left.length === 1 ? 'shard' : 'shards'} ${left.join(', ')} are left out here to keep within a pull request's size: each is \`report.md\` in its run directory.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
