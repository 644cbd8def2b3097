import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FinishedRun } from '../flows/run.js';
import { type Authored, readMarker } from '../github/markers.js';
import type { GitHubPort } from '../github/port.js';
import { type PullRequestAbout, pullRequestFor } from '../github/texts.js';

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
  about: PullRequestAbout,
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
