import { runGit } from '../agents/git.js';
import { readUsageFile } from '../engine/run-record.js';
import { completedShards, shardRuns, shardsNotIn } from '../flows/shards.js';
import { parseDispatch } from '../github/dispatch.js';
import { checkId } from '../github/ids.js';
import { didNotRun, refusedToRun, shardedProgress } from '../github/texts.js';
import { billedTokens } from '../models/types.js';
import { shardDoneBefore } from '../report/progress-state.js';
import { type Inputs, type Job, jobUrlOf } from './main.js';
import { progressInfo } from './progress-comment.js';
import { type ApprovalToCheck, type Approved, checkApproval } from './run-mode.js';

/** A sharded run's plan, checked: the approval, the script and how many shards the plan states. */
export type ShardedPlan = Approved & { count: number };

/**
 * What every job of a sharded run checks before it spends: the approval (as run mode checks it)
 * and that the approved plan is sharded. `ownComment` is the run's progress comment, posted by its
 * first job; the later jobs leave it out of the thread (see `checkApproval`).
 */
export async function checkShardedPlan(
  o: ApprovalToCheck,
  given: { resume?: boolean; ownComment?: { id: number; actionsRunId?: string } },
): Promise<{ refused: string } | ShardedPlan> {
  const issue = checkId('issue', o.issue, 'the issue number');
  if (!issue.ok) return { refused: issue.problem };
  const found = await checkApproval(o, given);
  if ('refused' in found) return found;
  const count = found.marker.shards;
  if (count === undefined) {
    return {
      refused: `plan \`${found.marker.planId}\` is not sharded (its plan names no shards); it runs as one job, dispatched with mode \`run\``,
    };
  }
  return { ...found, count };
}

/** What a job after the first of a sharded run (a shard, the merge) knows of the run. */
export interface LaterShardedJob extends ApprovalToCheck {
  /** The progress comment the shards job posted. */
  progressCommentId: number;
  /** This Actions run: its progress comment names no other. */
  actionsRunId?: string;
  resume?: boolean;
}

/** `checkShardedPlan` for a shard or the merge: the run's own progress comment is left out of the thread. */
export function checkLaterShardedJob(o: LaterShardedJob): Promise<{ refused: string } | ShardedPlan> {
  return checkShardedPlan(o, {
    ...(o.resume ? { resume: true } : {}),
    ownComment: {
      id: o.progressCommentId,
      ...(o.actionsRunId !== undefined ? { actionsRunId: o.actionsRunId } : {}),
    },
  });
}

export interface ShardsModeOptions extends ApprovalToCheck {
  /** The job's checkout: its commit is the base of every shard. */
  repoDir: string;
  /** Where the earlier attempt's shard artifacts were downloaded, on a resume. */
  runsDir: string;
  /** The Actions run whose shard artifacts hold the journals to resume from; none for a first attempt. */
  resumeActionsRunId?: string;
  jobUrl?: string;
  actionsRunId?: string;
}

export type ShardsModeOutcome =
  | { status: 'refused'; reason: string }
  | { status: 'started'; count: number; matrix: number[]; progressCommentId: number; baseSha: string };

/**
 * The first job of a sharded run: re-checks the approval exactly as run mode does, says which
 * shards to run (all; on a resume only those with no completed run in the downloaded artifacts),
 * and posts the one progress comment every shard updates. A refusal spends nothing.
 */
export async function startShards(o: ShardsModeOptions): Promise<ShardsModeOutcome> {
  const resume = o.resumeActionsRunId !== undefined;
  const found = await checkShardedPlan(o, { resume });
  if ('refused' in found) {
    if (checkId('issue', o.issue, 'the issue number').ok)
      await o.github.comment(o.issue, didNotRun(found.refused));
    return { status: 'refused', reason: found.refused };
  }
  // The earlier attempt's shard jobs are in no concurrency group (they must not wait for each
  // other): resuming while they still run would run them twice, each with a full share of the budget.
  const going = resume
    ? (await o.github.activeRuns(o.config.workflowFile)).find((r) => String(r.id) === o.resumeActionsRunId)
    : undefined;
  if (going) {
    const reason = `Actions run ${o.resumeActionsRunId} of plan \`${found.marker.planId}\` has not ended (${going.url}): its shards may still be running; resume once it has ended, or after \`/workflow cancel\``;
    await o.github.comment(o.issue, didNotRun(reason));
    return { status: 'refused', reason };
  }
  // As run mode refuses a resume without its journal: nothing of the earlier attempt here would mean
  // running (and paying for) every shard again.
  const runs = resume ? shardRuns(o.runsDir) : [];
  if (resume && runs.length === 0) {
    const reason = `no shard's run directory of Actions run ${o.resumeActionsRunId} is here; the workflow downloads them from its artifacts, which may have expired`;
    await o.github.comment(o.issue, didNotRun(reason));
    return { status: 'refused', reason };
  }
  // On a first attempt none is done: every shard runs.
  const done = completedShards(runs, found.count);
  const matrix = shardsNotIn(done, found.count);
  const info = progressInfo(found.marker.planId, o);
  // The comment ends with the plan's run marker, so the plan reads as run from now on; each shard
  // then puts its own state in it (shard-progress.ts).
  // On a resume, the shards that completed before show as done from the start, with what they spent.
  const states = [...done].map(([index, run]) => shardDoneBefore(index, spentOf(run.runDir)));
  const progress = await o.github.comment(o.issue, shardedProgress({ count: found.count, states, info }));
  // The commit every shard and the merge check out: the default branch may move while they run.
  const baseSha = (await runGit(['rev-parse', 'HEAD'], { cwd: o.repoDir })).trim();
  return { status: 'started', count: found.count, matrix, progressCommentId: progress.id, baseSha };
}

/**
 * What a shard's run spent, from its usage.json, for its row of the progress comment: only counts
 * that are whole and not negative (the file comes from an artifact; the comment's marker would
 * refuse anything else), else nothing.
 */
function spentOf(runDir: string): { done?: number; tokens?: number; usd?: number | null } {
  const spent = readUsageFile(runDir)?.totals;
  if (!spent) return {};
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const tokens = billedTokens(spent);
  const usd = spent.usd;
  if (!count(spent.agents) || !count(tokens)) return {};
  return {
    done: spent.agents,
    tokens,
    usd: typeof usd === 'number' && Number.isFinite(usd) && usd >= 0 ? usd : null,
  };
}

/** The inputs of a sharded dispatch every job of it reads, through the dispatch schema; a bad one is one clear error. */
export function shardedInputs(
  inputs: Inputs,
  issue: number,
): { issue: number; planCommentId: number; scriptSha256: string; resumeActionsRunId?: string } {
  // The issue may also come from the event; the mode is the job's own (`shards`, `shard`, `merge`).
  const parsed = parseDispatch({
    ...inputs,
    ...(issue > 0 ? { issue: String(issue) } : {}),
    mode: 'sharded',
  });
  if (!parsed.ok) throw new Error(parsed.problem);
  if (parsed.inputs.mode !== 'sharded') throw new Error('the dispatch is not of a sharded run');
  const { plan_comment_id, script_sha256, resume_actions_run_id } = parsed.inputs;
  return {
    issue: parsed.inputs.issue,
    planCommentId: plan_comment_id,
    scriptSha256: script_sha256,
    ...(resume_actions_run_id !== undefined ? { resumeActionsRunId: resume_actions_run_id } : {}),
  };
}

/** The shared options of a sharded run's jobs, from the job. */
export function shardedOptions(job: Job) {
  const inputs = shardedInputs(job.inputs, job.issue);
  return {
    github: job.github,
    config: job.config,
    trusted: job.trusted,
    ...inputs,
    repoDir: job.ctx.workspace,
    runsDir: job.ctx.runsDir,
    jobUrl: jobUrlOf(job.ctx),
    actionsRunId: job.ctx.actionsRunId,
    resume: inputs.resumeActionsRunId !== undefined,
  };
}

/** The progress comment id a shard or merge job was given (the shards job's output). */
export function progressCommentIdOf(env: NodeJS.ProcessEnv): number {
  const checked = checkId(
    'commentId',
    Number(env.INPUT_PROGRESS_COMMENT_ID),
    'the `progress_comment_id` input',
  );
  if (!checked.ok) throw new Error(checked.problem);
  return checked.value;
}

/** Mode `shards`: the shard matrix, their count and the progress comment, as step outputs. */
export async function shardsJob(job: Job): Promise<number> {
  const outcome = await startShards(shardedOptions(job));
  if (outcome.status === 'refused') {
    job.summary(refusedToRun(outcome.reason));
    return 1;
  }
  job.output('matrix', JSON.stringify(outcome.matrix));
  job.output('count', String(outcome.count));
  job.output('progress_comment_id', String(outcome.progressCommentId));
  job.output('base_sha', outcome.baseSha);
  job.summary(
    `Sharded run: ${outcome.count} shards; this run runs ${outcome.matrix.length === outcome.count ? 'all of them' : `shards ${outcome.matrix.join(', ') || 'none'}`}.`,
  );
  return 0;
}
