import type { RunDigest } from '../engine/events.js';
import type { RunEnding } from '../engine/run.js';
import type { UsageTotals } from '../engine/usage.js';
import { billedTokens } from '../models/types.js';
import type { PhaseEstimate } from '../plan/estimate.js';
import { batchSavingLines } from './batch-saving.js';
import { estimateVsActual } from './estimate-vs-actual.js';
import { failedAgentsLine, failuresSection } from './failures.js';
import { cell, fenceFor, neutralise } from './format.js';
import { reconcile, UNCONFIRMED_FIX } from './reconcile.js';

export interface UsageReport {
  totals: UsageTotals;
  byPhase: Record<string, UsageTotals>;
  byModel: Record<string, UsageTotals>;
  unpricedModels: string[];
  replayedFromJournal: UsageTotals;
  agents: Array<{
    index: number;
    label?: string;
    phase?: string;
    model: string;
    status: string;
    usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
    usd: number | null;
  }>;
}

export interface Finding {
  title: string;
  file?: string;
  line?: number;
  severity?: string;
  status?: string;
  evidence?: string;
}

/** What the report is made of: the run's ending as the engine hands it over, with the changes and the plan's estimate. */
export interface ReportInput
  extends Pick<
    RunEnding,
    | 'runId'
    | 'name'
    | 'description'
    | 'args'
    | 'model'
    | 'status'
    | 'error'
    | 'result'
    | 'durationMs'
    | 'replayed'
  > {
  /** What the report needs from the run's events (see `EventDigest`; `digestEvents` for a list). */
  digest: RunDigest;
  usage: UsageReport;
  changes?: {
    files: string[];
    diffStat: string;
    diff: string;
    byAgent: Record<string, number[]>;
    branch?: string;
  };
  /** The plan's per-phase estimate, shown beside the actual cost of each phase. */
  estimate?: PhaseEstimate[];
}

const STATUS_ORDER = ['fixed', UNCONFIRMED_FIX, 'confirmed', 'unverified', 'refuted'];

/**
 * A name (a file an agent chose) as inline code it cannot close: the fence is longer than any
 * run of backticks in it, so neither a backtick nor `<!--` in the name escapes the span.
 */
export function codeSpan(value: string, inTable = true): string {
  let text = value.replace(/[\r\n]+/g, ' ');
  if (inTable) text = text.replace(/\|/g, '\\|');
  const fence = '`'.repeat(Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Files that decide how git, GitHub or the repository's automation treat everything else: a
 * change to one is worth more attention than its size suggests. First match wins.
 */
const SENSITIVE: Array<[RegExp, string]> = [
  [
    /(^|\/)\.gitattributes$/i,
    'how git and GitHub diff, merge and show files (`-diff`, `binary` or `linguist-generated` can hide a change from review)',
  ],
  [/(^|\/)\.gitmodules$/i, 'submodules: which code is fetched from where'],
  [/(^|\/)CODEOWNERS$/i, 'who must review which files'],
  [/^\.github\/(workflows|actions)\//i, "GitHub Actions: code that runs with the repository's secrets"],
  [/^\.github\//i, "GitHub configuration (templates, settings, this product's configuration)"],
  [/(^|\/)\.gitignore$/i, 'which files git leaves out'],
];

/** The changed files that control the repository rather than being part of it, with why. */
export function sensitiveChanges(files: readonly string[]): Array<{ file: string; why: string }> {
  const out: Array<{ file: string; why: string }> = [];
  for (const file of files) {
    const hit = SENSITIVE.find(([pattern]) => pattern.test(file));
    if (hit) out.push({ file, why: hit[1] });
  }
  return out;
}

function tokens(n: number): string {
  return n.toLocaleString('en-US');
}

function usd(value: number | null): string {
  return value === null ? 'unknown' : `$${value.toFixed(4)}`;
}

/** Findings, when the script's result carries them as `findings: [...]`. */
export function findingsOf(result: unknown): Finding[] {
  const list = (result as { findings?: unknown } | null)?.findings;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (f): f is Finding => typeof f === 'object' && f !== null && typeof (f as Finding).title === 'string',
  );
}

/** Where automated changes most often cut corners: each hit is a line for a human to look at. */
const QUALITY_CHECKS: Array<[string, RegExp]> = [
  ['type escape hatch `any`', /(:\s*any\b|\bas any\b|<any>)/],
  ['`@ts-ignore` / `@ts-expect-error`', /@ts-(ignore|expect-error|nocheck)/],
  ['lint rule disabled', /(eslint-disable|biome-ignore|noqa|#\s*type:\s*ignore|nolint)/],
  ['`unsafe` code', /\bunsafe\b/],
  [
    'skipped or focused test',
    /\b(it|test|describe)\.(skip|only)\b|\bx(it|describe)\(|@pytest\.mark\.skip|t\.Skip\(/,
  ],
  ['TODO / FIXME left behind', /\b(TODO|FIXME|XXX|HACK)\b/],
];

export function qualityCheck(diff: string): Array<{ check: string; file: string; line: string }> {
  const hits: Array<{ check: string; file: string; line: string }> = [];
  let file = '';
  // Only lines inside a hunk are added lines: `+++ x` there is the added line `++ x`.
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      inHunk = false;
      continue;
    }
    if (!inHunk && line.startsWith('+++ ')) {
      file = line.replace(/^\+\+\+ "?(b\/)?/, '').replace(/"$/, '');
      continue;
    }
    if (line.startsWith('@@')) {
      inHunk = true;
      continue;
    }
    if (!inHunk || !line.startsWith('+')) continue;
    for (const [check, pattern] of QUALITY_CHECKS) {
      if (pattern.test(line)) hits.push({ check, file, line: line.slice(1).trim().slice(0, 120) });
    }
  }
  return hits;
}

function usageTable(title: string, rows: Record<string, UsageTotals>): string[] {
  const out = [
    `| ${title} | agents | input | cache write | cache read | output | dollars |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [key, u] of Object.entries(rows)) {
    out.push(
      `| ${cell(key)} | ${u.agents} | ${tokens(u.inputTokens)} | ${tokens(u.cacheWriteTokens)} | ${tokens(u.cacheReadTokens)} | ${tokens(u.outputTokens)} | ${usd(u.usd)} |`,
    );
  }
  return out;
}

/** The share of input tokens read from the prompt cache. */
export function cacheHitRatio(u: UsageTotals): number | null {
  const input = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return input === 0 ? null : u.cacheReadTokens / input;
}

/** report.md: what was asked, what happened, what it found and changed, and what it cost. */
export function renderReport(input: ReportInput): string {
  const reconciled = reconcile(findingsOf(input.result), input.changes?.files ?? [], input.digest.oracles);
  const lines = [
    ...headerSection(input),
    ...doesNotAddUp(reconciled.problems),
    ...careful(input),
    ...summarySection(input.result),
    ...findingsSection(reconciled.findings, input.digest),
    ...failuresSection(input.digest),
    ...oracleSection(input),
    ...changesSection(input),
    ...phasesSection(input),
    ...estimateVsActual(input.estimate ?? [], input.usage.byPhase),
    ...accountingSection(input),
  ];
  return `${lines.join('\n')}\n`;
}

/** The title and the run's facts. */
function headerSection(input: ReportInput): string[] {
  const lines: string[] = [];
  lines.push(`# ${input.name}: ${input.status}`, '', input.description, '');
  lines.push(
    `- run: \`${input.runId}\`, ${(input.durationMs / 1000).toFixed(1)} s, model \`${input.model}\``,
  );
  if (input.args !== undefined) lines.push(`- arguments: \`${cell(JSON.stringify(input.args))}\``);
  if (input.changes?.branch) lines.push(`- branch: \`${input.changes.branch}\``);
  if (input.error) lines.push(`- error: ${cell(input.error)}`);
  const { dropped } = input.digest;
  if (dropped.lines > 0) {
    lines.push(
      `- log: ${tokens(dropped.lines)} lines the script wrote (${tokens(dropped.characters)} characters) were dropped ` +
        'past the limit on its output; `events.jsonl` has the lines before them',
    );
  }
  if (input.replayed) {
    lines.push(
      '',
      '> The model replies in this run were replayed from a fixture or journal: no model was called for them.',
    );
  }
  return lines;
}

/** Where the script's claims and the run's record disagree: shown before anything the script claims. */
function doesNotAddUp(problems: string[]): string[] {
  if (problems.length === 0) return [];
  return [
    '',
    '> [!CAUTION]',
    "> **The run's claims do not add up**; what it calls fixed is not counted as fixed:",
    ...problems.map((p) => `> - ${p}`),
  ];
}

/** The changed files that control the repository, git or GitHub. */
function careful(input: ReportInput): string[] {
  const sensitive = sensitiveChanges(input.changes?.files ?? []);
  if (sensitive.length === 0) return [];
  return [
    '',
    '## Needs a careful look',
    '',
    'This run changed files that control the repository, git or GitHub; review these first:',
    '',
    ...sensitive.map((s) => `- ${codeSpan(s.file, false)}: ${s.why}`),
  ];
}

/** The summary the script's synthesizing agent wrote, as text (a model wrote it: nothing in it renders). */
function summarySection(result: unknown): string[] {
  const summary = (result as { summary?: unknown } | null)?.summary;
  if (typeof summary !== 'string' || summary.trim() === '') return [];
  // Neutralised too: a code block shows `<!--` as text, but no marker may ever be read from it.
  const text = neutralise(summary.trim());
  const fence = fenceFor(text);
  return ['', '## Summary', '', `${fence}text`, text, fence];
}

/** The phases the run went through. */
function phasesSection(input: ReportInput): string[] {
  const { phases, morePhases } = input.digest;
  if (phases.length === 0) return [];
  const lines = ['', '## Phases', '', ...phases.map((p) => `1. ${cell(p)}`)];
  if (morePhases > 0) lines.push('', `… and ${tokens(morePhases)} more phases.`);
  return lines;
}

/** The findings the script returned, by status (a fix the record does not bear out is not counted as one). */
function findingsSection(findings: Finding[], digest: RunDigest): string[] {
  const lines = ['', '## Findings', ''];
  if (findings.length === 0) {
    const failed = failedAgentsLine(digest);
    return [...lines, `No findings were reported${failed ? `; ${failed}: see Failures` : ''}.`];
  }
  const counts = STATUS_ORDER.map((s) => [s, findings.filter((f) => f.status === s).length] as const).filter(
    ([, n]) => n > 0,
  );
  lines.push(counts.map(([s, n]) => `${n} ${s}`).join(', '), '');
  lines.push('| status | severity | finding | where | evidence |', '|---|---|---|---|---|');
  const rank = (f: Finding) => {
    const i = STATUS_ORDER.indexOf(f.status ?? '');
    return i < 0 ? STATUS_ORDER.length : i;
  };
  for (const f of [...findings].sort((a, b) => rank(a) - rank(b))) {
    const where = f.file ? `\`${cell(f.file)}${f.line ? `:${f.line}` : ''}\`` : '';
    lines.push(
      `| ${cell(f.status ?? 'unverified')} | ${cell(f.severity)} | ${cell(f.title)} | ${where} | ${cell(f.evidence)} |`,
    );
  }
  return lines;
}

/** The test suite before and after. */
function oracleSection(input: ReportInput): string[] {
  const oracles = input.digest.oracles;
  const lines = ['', '## Tests (the oracle)', ''];
  if (!oracles.first || !oracles.last) return [...lines, 'The script did not run the test suite.'];
  const describe = (o: NonNullable<typeof oracles.first>) =>
    `${o.passed ? 'passing' : 'failing'} (exit ${o.exitCode}; ${cell(o.summary)})`;
  lines.push(`- before: ${describe(oracles.first)}`);
  if (oracles.count > 1) lines.push(`- after: ${describe(oracles.last)}`);
  return lines;
}

/** The changed files, who changed them, and the lines worth a first look. */
function changesSection(input: ReportInput): string[] {
  const lines = ['', '## Changes', ''];
  if (!input.changes || input.changes.files.length === 0) return [...lines, 'No files were changed.'];
  const fence = fenceFor(input.changes.diffStat);
  lines.push(fence, input.changes.diffStat, fence, '');
  const byAgent = Object.entries(input.changes.byAgent);
  if (byAgent.length > 0) {
    lines.push('| file | changed by agent |', '|---|---|');
    const label = (i: number) => input.usage.agents.find((a) => a.index === i)?.label ?? '';
    for (const [file, agents] of byAgent) {
      lines.push(
        `| ${codeSpan(file)} | ${agents.map((i) => `#${i}${label(i) ? ` ${cell(label(i))}` : ''}`).join(', ')} |`,
      );
    }
    lines.push('');
  }
  const hits = qualityCheck(input.changes.diff);
  lines.push('### Quality check', '');
  if (hits.length === 0) {
    lines.push(
      'No added line uses `any`, `@ts-ignore`, a disabled lint rule, `unsafe`, a skipped test or a TODO.',
    );
  } else {
    lines.push('Automated changes are rarely production-ready on day one; look at these lines first:', '');
    for (const h of hits) lines.push(`- ${h.check}: ${codeSpan(h.file, false)}: ${codeSpan(h.line, false)}`);
  }
  return lines;
}

/** What the run cost: totals, cache, replayed and unpriced agents, by phase and model, the top agents. */
function accountingSection(input: ReportInput): string[] {
  const t = input.usage.totals;
  const lines = ['', '## Token accounting', ''];
  const ratio = cacheHitRatio(t);
  lines.push(
    `${t.agents} agent${t.agents === 1 ? '' : 's'} ran live: ${tokens(billedTokens(t))} tokens billed, ${t.usd === null ? 'cost unknown' : usd(t.usd)}` +
      (ratio === null ? '.' : `; cache hit ratio ${(ratio * 100).toFixed(1)}% of input tokens.`),
  );
  lines.push(...batchSavingLines(input.usage));
  if (input.usage.replayedFromJournal.agents > 0) {
    lines.push(
      `${input.usage.replayedFromJournal.agents} agents were replayed from an earlier run's journal at no cost.`,
    );
  }
  if (input.usage.unpricedModels.length > 0) {
    lines.push(
      `No price is known for ${input.usage.unpricedModels.map((m) => `\`${m}\``).join(', ')}: their cost is unknown, not zero.`,
    );
  }
  lines.push(
    '',
    ...usageTable('phase', input.usage.byPhase),
    '',
    ...usageTable('model', input.usage.byModel),
    '',
  );
  const top = [...input.usage.agents]
    .sort((a, b) => (b.usd ?? 0) - (a.usd ?? 0) || billedTokens(b.usage) - billedTokens(a.usage))
    .slice(0, 10);
  if (top.length > 0) {
    lines.push(
      'Top agents by cost:',
      '',
      '| agent | phase | status | tokens | dollars |',
      '|---|---|---|---:|---:|',
    );
    for (const a of top) {
      lines.push(
        `| #${a.index} ${cell(a.label)} | ${cell(a.phase)} | ${a.status} | ${tokens(billedTokens(a.usage))} | ${usd(a.usd)} |`,
      );
    }
  }
  return lines;
}
