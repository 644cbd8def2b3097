import { failingText } from '../agents/test-output.js';
import { CALIBRATION } from '../plan/dry-run.js';
import type { Plan } from '../plan/plan.js';
import { budgetLine, costDrivers, phaseTable } from './estimate-text.js';
import { fenceFor, formatTokens, formatUsd } from './format.js';

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function span(min: number, max: number, show: (n: number) => string): string {
  return min === max ? show(min) : `${show(min)}–${show(max)}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
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
      `From dry runs with a simulated diligent agent in a quiet world (agents find nothing) and a busy one (${CALIBRATION.findingsPerFile.busy} findings a file, and every check fails until the last round), priced as \`${e.model}\`:`,
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
