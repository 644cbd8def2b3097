import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushBranch } from '../agents/git.js';
import { readRunEvents } from '../engine/run-record.js';
import type { FinishedRun } from '../flows/run.js';
import { type Authored, readMarker } from '../github/markers.js';
import type { GitHubPort } from '../github/port.js';
import { type PullRequestAbout, pullRequestFor } from '../github/texts.js';
import { reconcile } from '../report/reconcile.js';
import { findingsOf } from '../report/report.js';
import { runDiagramOf, traceArtifactLine } from '../report/trace-diagram.js';

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

/** Where the job is, for the line that says where the run's trace page and transcripts are. */
export interface JobPlace {
  jobUrl?: string;
  actionsRunId?: string;
}

/**
 * Pushes the run's branch and opens its pull request: the report as its body, a diagram of the run,
 * where its trace is, and a title that counts only the fixes the run's record bears out. Given the
 * number of the branch's open pull request (a resumed sharded run pushes further onto its earlier
 * one), rewrites that one instead.
 */
export async function openPullRequest(
  o: { github: GitHubPort; push(branch: string): Promise<void> } & JobPlace,
  summary: FinishedRun & { branch: string },
  about: PullRequestAbout,
  existing?: number,
): Promise<{ number: number; url: string }> {
  await o.push(summary.branch);
  const events = readRunEvents(summary.runDir);
  const changed = changedFilesOf(summary.runDir);
  const oracles = events.filter((e) => e.type === 'oracle');
  const { fixedCounted } = reconcile(findingsOf(summary.result), changed, {
    ...(oracles[0] ? { first: oracles[0] } : {}),
    ...(oracles.length > 0 ? { last: oracles[oracles.length - 1] } : {}),
    count: oracles.length,
  });
  const { title, body } = pullRequestFor(summary, readFileSync(summary.reportPath, 'utf8'), about, changed, {
    fixed: fixedCounted,
    diagram: runDiagramOf(events),
    ...(o.jobUrl && o.actionsRunId
      ? { trace: traceArtifactLine({ runUrl: o.jobUrl, actionsRunId: o.actionsRunId, runId: summary.runId }) }
      : {}),
  });
  if (existing !== undefined) return o.github.updatePullRequest(existing, { title, body });
  return o.github.createPullRequest({ title, body, head: summary.branch });
}

/** Pushes a run's branch from the job's checkout with the job's token, given to git for this one command only. */
export function pushWith(ctx: { workspace: string; serverUrl: string; token: string }) {
  return (branch: string) =>
    pushBranch({ cwd: ctx.workspace, serverUrl: ctx.serverUrl, token: ctx.token, branch });
}
