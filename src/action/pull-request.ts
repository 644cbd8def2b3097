import type { RunSummary } from '../engine/run.js';
import type { PlanMarker } from '../github/plan-comment.js';
import { findingsOf } from '../report/report.js';

/** The pull request: its body is the report, with what was approved and the estimate against the actual. */
export function pullRequestFor(
  summary: RunSummary,
  report: string,
  plan: { marker: PlanMarker; approver: string; issue: number },
): { title: string; body: string } {
  const findings = findingsOf(summary.result);
  const fixed = findings.filter((f) => f.status === 'fixed').length;
  const name = /^# ([^:\n]+)/.exec(report)?.[1] ?? 'workflow';
  const title = `${name}: ${fixed > 0 ? `${fixed} fix${fixed === 1 ? '' : 'es'}` : `${findings.length} finding${findings.length === 1 ? '' : 's'}`} (run ${summary.runId})`;
  const e = plan.marker.estimate;
  const u = summary.usage;
  const estimate = e
    ? `Estimate: ${e.agents.min}–${e.agents.max} agents${e.usd ? `, $${e.usd.min.toFixed(2)}–$${e.usd.max.toFixed(2)}` : ''}. ` +
      `Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.`
    : `Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.`;
  const head = [
    `Plan \`${plan.marker.planId}\` (script \`sha256:${plan.marker.scriptSha256}\`), requested by @${plan.marker.requester} and approved by @${plan.approver} in #${plan.issue}.`,
    estimate,
    '',
    'Automated changes: review them like any contribution; the report says where to look first.',
    '',
    '---',
    '',
  ].join('\n');
  return { title, body: head + report };
}
