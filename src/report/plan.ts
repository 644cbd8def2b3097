import { failingText } from '../agents/test-output.js';
import { bareModel, isBatchModel } from '../models/pricing.js';
import { CALIBRATION } from '../plan/dry-run.js';
import type { Plan } from '../plan/plan.js';
import { budgetLine, costDrivers, phaseTable } from './estimate-text.js';
import { fenceFor, formatTokens, formatUsd, span } from './format.js';

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The first and last item of a slice, compactly (slices are runs of the list, in order). */
function sliceText(slice: string[]): string {
  if (slice.length === 0) return '(none)';
  // A file's name as a table cell's code span: no backtick to close it, no pipe to end the cell, one line.
  const code = (item: string) =>
    `\`${item
      .replace(/`/g, "'")
      .replace(/\|/g, '\\|')
      .replace(/[\r\n]+/g, ' ')}\``;
  if (slice.length === 1) return code(slice[0]!);
  return `${code(slice[0]!)} … ${code(slice[slice.length - 1]!)}`;
}

function amountText(b: { tokens: number | null; usd: number | null }): string {
  const parts = [
    b.usd !== null ? formatUsd(b.usd) : '',
    b.tokens !== null ? `${formatTokens(b.tokens)} tokens` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' and ') : 'no ceiling (none is configured)';
}

/** The shards of a plan split across runners: the count and why, the files of each, one shard's estimate and budget. */

/** The model an estimate is priced as, in words: `MODEL`, or `MODEL` at the Batch API's half price. */
function pricedAs(model: string): string {
  return isBatchModel(model)
    ? `\`${bareModel(model)}\` through the Message Batches API (half price)`
    : `\`${model}\``;
}

function shardsText(plan: Plan): string[] {
  const s = plan.shards!;
  const e = plan.estimate;
  const lines = [
    `### Shards: ${s.count}`,
    '',
    `This run is split across ${s.count} runners (jobs of the workflow's matrix), each running this same script on its own slice of \`args.${s.arg}\` (\`shard()\`, bound above), so that each stays under the target of ${duration(s.targetMinutes * 60)}` +
      (e ? `; on one runner it would take up to ${duration(e.wallSeconds.max)}` : '') +
      ` (at most ${s.maxShards} shards, \`maxShards\`). One pull request holds every shard's changes.`,
    '',
    `| shard | ${s.arg} | from … to |`,
    '|---|---|---|',
    ...s.slices.map((slice, i) => `| ${i + 1} | ${slice.length} | ${sliceText(slice)} |`),
    '',
  ];
  const one = s.estimateEach;
  if (one) {
    lines.push(
      `Per shard, from dry runs of shard 1 (the largest: ${count(one.items, 'item')}; every other shard has at most as many), quiet to busy:`,
      '',
      `- agents: ${span(one.agents.min, one.agents.max, String)}`,
      `- tokens: ${span(one.tokens.min, one.tokens.max, formatTokens)}`,
      `- dollars: ${one.usd ? span(one.usd.min, one.usd.max, (n) => formatUsd(n)) : 'unknown (no price for this model)'}`,
      `- wall time: ${span(one.wallSeconds.min, one.wallSeconds.max, duration)} (target: under ${duration(s.targetMinutes * 60)})`,
      '',
    );
    if (one.wallSeconds.max > s.targetMinutes * 60 && e) {
      const needed = Math.ceil(e.wallSeconds.max / (s.targetMinutes * 60));
      const cap =
        s.count === s.maxShards
          ? `\`maxShards\` (${s.maxShards}) caps the count`
          : 'a shard has at least one item';
      lines.push(
        `> **Over the target**: the busy end of a shard is above ${duration(s.targetMinutes * 60)}; staying under it would take ${needed} shards, but ${cap}.`,
        '',
      );
    }
    for (const p of one.problems) lines.push(`> **Dry run problem (shard 1)**: ${p}`, '');
  }
  const whole = e?.budget ? amountText(e.budget) : 'none';
  lines.push(
    `Each shard's budget: ${amountText(s.budgetEach)} (the run's budget, ${whole}, divided by ${s.count}); a shard stops starting agents when its share is spent.`,
  );
  return lines;
}

/** The plan as a person reads it: in a terminal, or as the body of a GitHub comment. */
export function renderPlan(plan: Plan, options: { howToRun?: string } = {}): string {
  const a = plan.assessment;
  const lines: string[] = [];
  lines.push(`## Plan: ${plan.request.text}`, '');
  lines.push('### Assessment', '');
  lines.push(
    `- ${count(a.files, 'file')} tracked by git, ${a.lines.toLocaleString('en-US')} line${a.lines === 1 ? '' : 's'}; ${count(a.sourceFiles.length, 'source file')} in scope, ${count(a.testFiles, 'test file')}`,
  );
  if (a.excluded.length > 0) {
    lines.push(
      `- left out of scope: ${a.excluded.map((g) => `${g.label} ${g.files} (${g.examples.map((e) => `\`${e}\``).join(', ')}${g.files > g.examples.length ? ', …' : ''})`).join('; ')}`,
    );
  }
  if (a.languages.length > 0) {
    lines.push(
      `- languages: ${a.languages.map((l) => `${l.language} ${count(l.files, 'file')} / ${count(l.lines, 'line')}`).join(', ')}`,
    );
  }
  lines.push(
    a.oracle
      ? `- test oracle: \`${a.oracle.command}\` (from ${a.oracle.source})`
      : '- test oracle: none found',
  );
  if (a.baseline) {
    const b = a.baseline;
    const state = b.passed ? 'passing' : b.unusable ? 'cannot run' : 'failing';
    const failing = b.failing?.length ? `; first failing: ${failingText(b.failing)}` : '';
    // exit -1: the baseline was not run (its summary says why).
    lines.push(
      b.exitCode < 0
        ? `- baseline: ${b.summary}`
        : `- baseline: ${state} (exit ${b.exitCode}; ${b.summary}${failing})`,
    );
  }
  lines.push(
    '',
    `### Verdict: \`${plan.verdict.decision}\``,
    '',
    ...plan.verdict.reasons.map((r) => `- ${r}`),
  );
  if (plan.questions.length > 0) {
    lines.push('', '### Questions, with the defaults this plan assumes', '');
    lines.push(...plan.questions.map((q, i) => `${i + 1}. ${q.question} Assumed: ${q.assumed}.`));
  }
  if (plan.estimate) {
    const e = plan.estimate;
    lines.push('', '### Estimate', '');
    lines.push(
      `From dry runs with a simulated diligent agent in a quiet world (agents find nothing) and a busy one (${CALIBRATION.findingsPerFile.busy} findings a file, and every check fails until the last round), priced as ${pricedAs(e.model)}:`,
      '',
      `- agents: ${span(e.agents.min, e.agents.max, String)}`,
      `- input tokens: ${span(e.inputTokens.min, e.inputTokens.max, formatTokens)} (prompt caching included)`,
      `- output tokens: ${span(e.outputTokens.min, e.outputTokens.max, formatTokens)}`,
      `- dollars: ${e.usd ? span(e.usd.min, e.usd.max, (n) => formatUsd(n)) : 'unknown (no price for this model)'}`,
      `- wall time: ${span(e.wallSeconds.min, e.wallSeconds.max, duration)} (about a minute an agent, agents in parallel as the concurrency allows)`,
      '',
      'Agents read the repository through the real tools (a copy of it), one after another turn as a diligent model would; tokens are counted as the API bills them, prompt caching included.',
    );
    const table = phaseTable(e.phases ?? []);
    if (table.length > 0) lines.push('', 'Per phase, quiet to busy:', '', ...table);
    lines.push('', costDrivers(e, a.sourceFiles.length, CALIBRATION.findingsPerFile.busy));
    const budget = budgetLine(e);
    if (budget) lines.push('', budget);
    if (e.overBudget)
      lines.push(
        '',
        `> **Over budget**: the busy end of this estimate exceeds the configured ${Object.keys(e.overBudget).join(' and ')} budget.`,
      );
    for (const p of e.problems) lines.push('', `> **Dry run problem**: ${p}`);
  }
  if (plan.shards) lines.push('', ...shardsText(plan));
  if (plan.script) {
    const fence = fenceFor(plan.script);
    lines.push(
      '',
      `### Script \`sha256:${plan.scriptSha256}\``,
      '',
      `${fence}js`,
      plan.script.trimEnd(),
      fence,
    );
    if (options.howToRun) lines.push('', options.howToRun);
  } else {
    lines.push('', 'No script: a workflow is not the right tool here.');
  }
  return `${lines.join('\n')}\n`;
}
