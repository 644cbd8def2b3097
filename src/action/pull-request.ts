import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FinishedRun } from '../flows/run.js';
import { type Authored, type PlanMarker, readMarker, validMarker, writeMarker } from '../github/markers.js';
import type { GitHubPort } from '../github/port.js';
import { codeSpan, findingsOf, sensitiveChanges } from '../report/report.js';

/**
 * The first lines of the body when the run changed files that control the repository
 * (`.gitattributes`, `.github/**`, `CODEOWNERS`…): a reviewer sees them before anything else.
 */
function carefulLook(changedFiles: readonly string[]): string {
  const sensitive = sensitiveChanges(changedFiles);
  if (sensitive.length === 0) return '';
  return [
    '> [!WARNING]',
    '> **Needs a careful look**: this pull request changes files that control the repository, git or GitHub:',
    ...sensitive.map((s) => `> - ${codeSpan(s.file, false)}: ${s.why}`),
    '',
    '',
  ].join('\n');
}

/** The pull request: its body is the report, with what was approved and the estimate against the actual. */
export function pullRequestFor(
  summary: FinishedRun,
  report: string,
  plan: { marker: PlanMarker; approver: string; issue: number } | { sweep: true; known: string[] },
  changedFiles: readonly string[] = [],
): { title: string; body: string } {
  const careful = carefulLook(changedFiles);
  const findings = findingsOf(summary.result);
  const fixed = findings.filter((f) => f.status === 'fixed').length;
  const name = /^# ([^:\n]+)/.exec(report)?.[1] ?? 'workflow';
  const title = `${name}: ${fixed > 0 ? `${fixed} fix${fixed === 1 ? '' : 'es'}` : `${findings.length} finding${findings.length === 1 ? '' : 's'}`} (run ${summary.runId})`;
  const u = summary.usage;
  if ('sweep' in plan) {
    // The fingerprints of everything sweeps have reported so far: the next sweep leaves them out.
    const known = [
      ...new Set([
        ...plan.known,
        ...findings
          .map((f) => (f as { fingerprint?: string }).fingerprint)
          .filter((f): f is string => typeof f === 'string' && validMarker('sweep-known', [f])),
      ]),
    ];
    const head = `${careful}The scheduled security sweep found ${findings.length} new finding${findings.length === 1 ? '' : 's'}. Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.\n\n---\n\n`;
    // The marker is the body's last line, where knownFrom reads it.
    return { title, body: `${head}${report}\n${writeMarker('sweep-known', known.slice(-10_000))}\n` };
  }
  const e = plan.marker.estimate;
  const estimate = e
    ? `Estimate: ${e.agents.min}–${e.agents.max} agents${e.usd ? `, $${e.usd.min.toFixed(2)}–$${e.usd.max.toFixed(2)}` : ''}. ` +
      `Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.`
    : `Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.`;
  const head = [
    `${careful}Plan \`${plan.marker.planId}\` (script \`sha256:${plan.marker.scriptSha256}\`), requested by @${plan.marker.requester} and approved by @${plan.approver} in #${plan.issue}.`,
    estimate,
    '',
    'Automated changes: review them like any contribution; the report says where to look first.',
    '',
    '---',
    '',
  ].join('\n');
  return { title, body: head + report };
}

/** Fingerprints an earlier sweep's pull request recorded: only one the bot opened counts, open or closed. */
export function knownFrom(pullRequest: Authored, trusted: readonly string[]): string[] {
  return readMarker('sweep-known', pullRequest, trusted) ?? [];
}

/** The files the run changed, as its `changes.json` records them (written with the branch). */
function changedFilesOf(runDir: string): string[] {
  const path = join(runDir, 'changes.json');
  if (!existsSync(path)) return [];
  const files = (JSON.parse(readFileSync(path, 'utf8')) as { files?: unknown }).files;
  return Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
}

/** Pushes the run's branch and opens its pull request, the report as its body. */
export async function openPullRequest(
  o: { github: GitHubPort; push(branch: string): Promise<void> },
  summary: FinishedRun & { branch: string },
  about: Parameters<typeof pullRequestFor>[2],
): Promise<{ number: number; url: string }> {
  await o.push(summary.branch);
  const { title, body } = pullRequestFor(
    summary,
    readFileSync(summary.reportPath, 'utf8'),
    about,
    changedFilesOf(summary.runDir),
  );
  return o.github.createPullRequest({ title, body, head: summary.branch });
}
