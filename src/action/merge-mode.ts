import { readFileSync } from 'node:fs';
import { runGit } from '../agents/git.js';
import { type MergedShards, mergedBranchTests, mergeShards } from '../flows/merge-shards.js';
import type { FinishedRun } from '../flows/run.js';
import { placeOf, runSettings } from '../flows/settings.js';
import { isId } from '../github/ids.js';
import { didNotRun, refusedToRun, resumeShardsHint, shardsEnded } from '../github/texts.js';
import { noModel } from '../models/resolve.js';
import type { Job } from './main.js';
import type { JobPlace } from './pull-request.js';
import { openPullRequest, pushWith } from './pull-request.js';
import type { ApprovalToCheck } from './run-mode.js';
import { checkLaterShardedJob, progressCommentIdOf, shardedOptions } from './shards-mode.js';

export interface MergeModeOptions extends ApprovalToCheck, JobPlace {
  /** The progress comment the shards job posted: the merge writes its last version. */
  progressCommentId: number;
  /** The job's checkout, at the base commit. */
  repoDir: string;
  /** Where every shard's artifact was downloaded (this run's, and on a resume the earlier run's). */
  runsDir: string;
  /** Pushes the merged branch; the job's token stays in this process. */
  push(branch: string): Promise<void>;
  resume?: boolean;
  /** The environment the tests' command is run with (an allow-list: commands never see the job's). */
  env?: NodeJS.ProcessEnv;
  secrets?: string[];
}

export type MergeModeOutcome =
  | { status: 'refused'; reason: string }
  | { status: 'completed' | 'partial'; merged: MergedShards; pullRequest?: { number: number; url: string } };

/** The merge as a finished run, for the pull request: its report, its spend, every shard's findings. */
function asFinishedRun(merged: MergedShards & { branch: string }): FinishedRun & { branch: string } {
  return {
    runId: merged.runId,
    status: 'completed',
    result: { findings: merged.findings },
    runDir: merged.runDir,
    usage: merged.usage,
    // Replayed answers are in the usage already, counted where they were paid for.
    replayedAgents: 0,
    failedAgents: merged.failedAgents,
    failures: merged.failures,
    branch: merged.branch,
    reportPath: merged.reportPath,
  };
}

/**
 * The pull request the earlier attempt's merge opened, when it is still open and its branch is
 * here: a resume pushes further onto that branch and rewrites that pull request, so a sharded run
 * ends with one. Only one the bot opened from the branch its merge made (`dwf/<merge run id>`).
 */
async function earlierPullRequest(
  o: MergeModeOptions,
  mergeRunId: string,
): Promise<{ number: number; onto: { branch: string; tip: string } } | undefined> {
  const branch = `dwf/${mergeRunId}`;
  const open = (await o.github.listPullRequests()).find(
    (pull) =>
      pull.state === 'open' &&
      pull.head.ref === branch &&
      pull.user !== null &&
      o.trusted.includes(pull.user.login),
  );
  if (!open) return undefined;
  const tip = await remoteTip(o.repoDir, branch);
  return tip ? { number: open.number, onto: { branch, tip } } : undefined;
}

/** The commit a branch of the checkout's remote points at, if the checkout fetched it. */
async function remoteTip(repoDir: string, branch: string): Promise<string | undefined> {
  try {
    return (
      await runGit(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`], {
        cwd: repoDir,
      })
    ).trim();
  } catch {
    return undefined;
  }
}

/**
 * The last job of a sharded run: re-checks the approval, merges every shard's changes (from the
 * downloaded artifacts) onto one branch, pushes it and opens one pull request whose body is the one
 * report (what each shard did and spent, which are missing and how to resume), and writes the
 * progress comment's last version with the run's marker, so `/workflow resume` runs only the
 * missing shards again.
 */
export async function mergeShardsJob(o: MergeModeOptions): Promise<MergeModeOutcome> {
  const found = await checkLaterShardedJob(o);
  if ('refused' in found) return { status: 'refused', reason: found.refused };
  const tests = await mergedBranchTests(
    runSettings(
      // The merge asks no model: the job has no model key.
      placeOf({ ...o, provider: noModel('the merge of a sharded run') }),
      o.config,
    ),
  );
  const earlier = o.resume && found.attempt ? await earlierPullRequest(o, found.attempt.runId) : undefined;
  const merged = await mergeShards({
    repoDir: o.repoDir,
    runsDir: o.runsDir,
    ...(tests ? { oracle: tests } : {}),
    ...(earlier ? { onto: earlier.onto } : {}),
    count: found.count,
    resume: resumeShardsHint(),
  });
  const pullRequest = merged.branch
    ? // No trace line: the traces are in each shard's run directory, in the shards' artifacts, not the merge's.
      await openPullRequest(
        { github: o.github, push: o.push },
        asFinishedRun({ ...merged, branch: merged.branch }),
        {
          marker: found.marker,
          approver: found.approver.login,
          issue: o.issue,
        },
        earlier?.number,
      )
    : undefined;
  await o.github.updateComment(
    o.progressCommentId,
    shardsEnded({
      planId: found.marker.planId,
      count: found.count,
      shards: merged.shards,
      ...(pullRequest ? { pullRequest } : {}),
      // The marker names the merge's run and this Actions run: what a resume downloads.
      ...(o.actionsRunId && isId('actionsRunId', o.actionsRunId)
        ? { attempt: { runId: merged.runId, actionsRunId: o.actionsRunId } }
        : {}),
    }),
  );
  return { status: merged.status, merged, ...(pullRequest ? { pullRequest } : {}) };
}

/** Mode `merge`: one branch, one pull request and one report from every shard's artifact. */
export async function mergeJob(job: Job): Promise<number> {
  const outcome = await mergeShardsJob({
    ...shardedOptions(job),
    progressCommentId: progressCommentIdOf(job.env),
    push: pushWith(job.ctx),
    env: job.commandEnv,
    secrets: job.secrets,
  });
  if (outcome.status === 'refused') {
    await job.github.comment(job.issue, didNotRun(outcome.reason));
    job.summary(refusedToRun(outcome.reason));
    return 1;
  }
  job.summary(readFileSync(outcome.merged.reportPath, 'utf8'));
  return outcome.status === 'completed' ? 0 : 1;
}
