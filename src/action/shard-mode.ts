import { readFileSync } from 'node:fs';
import type { RunEvent } from '../engine/events.js';
import type { FinishedRun } from '../flows/run.js';
import { budgetOf } from '../flows/run.js';
import { placeOf, runSettings } from '../flows/settings.js';
import { latestShardRun, runShard } from '../flows/shards.js';
import { estimateOf } from '../github/plan-comment.js';
import { refusedToRun } from '../github/texts.js';
import { billedTokens, type ModelProvider } from '../models/types.js';
import { budgetEach } from '../plan/shards.js';
import type { Job } from './main.js';
import { progressInfo } from './progress-comment.js';
import type { ApprovalToCheck } from './run-mode.js';
import { ShardProgress, type ShardProgressOptions } from './shard-progress.js';
import { checkLaterShardedJob, progressCommentIdOf, shardedOptions } from './shards-mode.js';

export interface ShardModeOptions extends ApprovalToCheck {
  /** This job's shard (the matrix's value). */
  shard: number;
  /** The progress comment the shards job posted: every shard updates it. */
  progressCommentId: number;
  /** The repository directory the shard works on: the job's checkout. */
  repoDir: string;
  /** The shard's artifact folder; on a resume it holds the shard's earlier runs (their journals). */
  runsDir: string;
  provider: ModelProvider;
  /** This Actions run: its progress comment names no other. */
  actionsRunId?: string;
  /** A resume of a sharded run: continue this shard's newest run from its journal. */
  resume?: boolean;
  env?: NodeJS.ProcessEnv;
  secrets?: string[];
  signal?: AbortSignal;
  /** Also told every event of the shard's run (the shared progress comment is kept either way). */
  onEvent?: (event: RunEvent) => void;
  /** This job's page, for the progress comment. */
  jobUrl?: string;
  /** How often the shard updates the shared progress comment and checks its update held. */
  progress?: ShardProgressOptions;
}

export type ShardModeOutcome =
  | { status: 'refused'; reason: string }
  | { status: 'done before'; runId: string }
  | { status: FinishedRun['status']; summary: FinishedRun & { bundle?: string } };

/**
 * One shard of a sharded run: re-checks the approval (leaving the run's own progress comment out of
 * the thread), then runs exactly the approved script with this shard's index, its share of the
 * budget, in its own run directory in the artifact folder, and leaves its changes there as
 * `changes.bundle`. It pushes nothing: the merge job does. On a resume, a shard whose newest run
 * completed runs nothing; one that did not continues that run from its journal.
 */
export async function runShardJob(o: ShardModeOptions): Promise<ShardModeOutcome> {
  const found = await checkLaterShardedJob(o);
  if ('refused' in found) return { status: 'refused', reason: found.refused };
  if (!Number.isInteger(o.shard) || o.shard < 0 || o.shard >= found.count) {
    const reason = `the shard input ${String(o.shard)} is not a shard of plan \`${found.marker.planId}\`, which has ${found.count} (0 to ${found.count - 1})`;
    return { status: 'refused', reason };
  }
  const previous = o.resume ? latestShardRun(o.runsDir, o.shard) : undefined;
  if (previous?.status === 'completed') return { status: 'done before', runId: previous.runId };

  const estimate = estimateOf(found.comment.body);
  const settings = runSettings(placeOf(o), o.config);
  // The plan states each shard's budget: the run's (configured, else derived from the estimate) in equal shares.
  settings.budget = budgetEach(budgetOf(settings.budget, estimate.budget), found.count);
  const progress = new ShardProgress(
    o.github,
    o.progressCommentId,
    o.shard,
    found.count,
    { ...progressInfo(found.marker.planId, o), trusted: o.trusted },
    o.progress,
  );
  let summary: Awaited<ReturnType<typeof runShard>>;
  try {
    summary = await runShard(
      settings,
      {
        source: found.script,
        file: `plan-${found.marker.planId}.js`,
        oracle: 'detect',
        // No estimate vs actual: the plan's phases are estimated for the whole list, not one slice.
        ...(previous ? { resume: previous.runId } : {}),
        onEvent: (event) => {
          progress.on(event);
          o.onEvent?.(event);
        },
      },
      { index: o.shard, count: found.count },
    );
  } catch (error) {
    await progress.flush({ status: 'failed' });
    throw error;
  }
  await progress.flush({
    status: summary.status,
    tokens: billedTokens(summary.usage),
    usd: summary.usage.usd,
  });
  return { status: summary.status, summary };
}

/** Mode `shard`: one shard of the matrix; its run directory (with changes.bundle) is its artifact. */
export async function shardJob(job: Job): Promise<number> {
  const shard = Number(job.env.INPUT_SHARD);
  const progressCommentId = progressCommentIdOf(job.env);
  const outcome = await runShardJob({
    ...shardedOptions(job),
    shard,
    progressCommentId,
    provider: job.provider(),
    env: job.commandEnv,
    secrets: job.secrets,
  });
  if (outcome.status === 'refused') {
    job.summary(refusedToRun(outcome.reason));
    return 1;
  }
  if (outcome.status === 'done before') {
    job.summary(`Shard ${shard} completed in run \`${outcome.runId}\` before: nothing to run again.`);
    return 0;
  }
  job.summary(readFileSync(outcome.summary.reportPath, 'utf8'));
  return outcome.status === 'completed' ? 0 : 1;
}
