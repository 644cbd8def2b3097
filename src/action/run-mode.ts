import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FinishedRun } from '../flows/run.js';
import { runScript } from '../flows/run.js';
import { placeOf, runSettings } from '../flows/settings.js';
import { runnable, type ThreadComment } from '../github/approval.js';
import type { Config } from '../github/config.js';
import { checkId } from '../github/ids.js';
import { markersIn } from '../github/markers.js';
import { type Actor, mayAct } from '../github/permissions.js';
import { estimateOf, scriptOf } from '../github/plan-comment.js';
import type { GitHubPort } from '../github/port.js';
import { didNotRun, runEndedComment, runProgress } from '../github/texts.js';
import type { ModelProvider } from '../models/types.js';
import { emptyProgress } from '../report/progress-state.js';
import { ProgressComment, progressInfo } from './progress-comment.js';
import { openPullRequest } from './pull-request.js';

export interface RunModeOptions {
  /** The repository's GitHub: the thread, roles, the progress comment, the pull request. */
  github: GitHubPort;
  issue: number;
  planCommentId: number;
  scriptSha256: string;
  /** The repository directory the run works on: the job's checkout (GITHUB_WORKSPACE). */
  repoDir: string;
  runsDir: string;
  provider: ModelProvider;
  config: Config;
  /** Logins whose plan comments are trusted: the app's bot and github-actions[bot]. */
  trusted: string[];
  /** Pushes the run's branch to the repository; the job's token stays in this process. */
  push(branch: string): Promise<void>;
  /** This job's page, for the progress comment. */
  jobUrl?: string;
  /** This Actions run's id: recorded so a later `/workflow resume` finds its artifact. */
  actionsRunId?: string;
  /** Continue the plan's earlier run from its journal (already downloaded into runsDir). */
  resume?: boolean;
  /** The Actions run the journal was downloaded from: checked against the bot's record (`ApprovalToCheck`). */
  resumeActionsRunId?: string;
  env?: NodeJS.ProcessEnv;
  /** Secret values the job holds (token, model key, configured ones): redacted from everything. */
  secrets?: string[];
  signal?: AbortSignal;
  progressIntervalMs?: number;
}

export type RunModeOutcome =
  | { status: 'refused'; reason: string }
  | { status: FinishedRun['status']; summary: FinishedRun; pullRequest?: { number: number; url: string } };

/** What every mode that spends checks again: the thread, the plan it was given, the approval. */
export interface ApprovalToCheck {
  github: GitHubPort;
  issue: number;
  planCommentId: number;
  scriptSha256: string;
  config: Config;
  /** Logins whose plan comments are trusted: the app's bot and github-actions[bot]. */
  trusted: string[];
  /**
   * On a resume: the Actions run whose artifacts the workflow downloaded (the dispatch's
   * `resume_actions_run_id`). It must be the attempt the bot recorded in the thread: any run of the
   * repository (a fork's pull request's, say) can upload artifacts of the same names.
   */
  resumeActionsRunId?: string;
}

/** The approved plan, checked: its comment and marker, the approval, who approved, and the script. */
export type Approved = Extract<ReturnType<typeof runnable>, { approval: unknown }> & {
  approver: Actor;
  script: string;
};

/**
 * Why a comment cannot be the progress comment of this Actions run's sharded run, if it cannot: it
 * must be the bot's newest comment marking a run of the plan, and name no other Actions run. So a
 * dispatch cannot hand over an earlier run's comment to run a plan again.
 */
function notOwnProgress(
  trusted: readonly string[],
  thread: ThreadComment[],
  own: { id: number; actionsRunId?: string },
): string | undefined {
  const runs = markersIn('run', thread, trusted);
  const newest = runs[runs.length - 1];
  const other = newest?.marker.actionsRunId;
  if (!newest || newest.comment.id !== own.id || (other !== undefined && other !== own.actionsRunId))
    return `comment ${own.id} is not the progress comment of this run`;
  return undefined;
}

/**
 * The approval checked again from the thread alone (see `runnable`), and the approver's permission
 * now, with the API. `resume`: continue a plan that ran; `ownComment`: the progress comment of this very run
 * (a sharded run's, posted by its first job, in this Actions run) that its later jobs leave out of
 * the thread, so the plan still reads as not run, or as run before, as it did to that first job.
 */
export async function checkApproval(
  o: ApprovalToCheck,
  given: { resume?: boolean; ownComment?: { id: number; actionsRunId?: string } } = {},
): Promise<{ refused: string } | Approved> {
  const all = await o.github.listComments(o.issue);
  if (given.ownComment !== undefined) {
    const problem = notOwnProgress(o.trusted, all, given.ownComment);
    if (problem) return { refused: problem };
  }
  const thread = all.filter((c) => c.id !== given.ownComment?.id);
  const found = runnable(
    o.trusted,
    thread,
    {
      planCommentId: o.planCommentId,
      scriptSha256: o.scriptSha256,
      ...(given.resume ? { resume: true } : {}),
    },
    o.config,
  );
  if ('refused' in found) return found;
  if (given.resume && o.resumeActionsRunId !== found.attempt?.actionsRunId) {
    return {
      refused:
        `the resume names Actions run ${o.resumeActionsRunId ?? '(none)'}, but the bot's record of plan ` +
        `\`${found.marker.planId}\` says its last attempt was Actions run ${found.attempt?.actionsRunId ?? '(none)'}: ` +
        "only that run's artifacts may be resumed from (reply `/workflow resume` for the right one)",
    };
  }
  const approver = found.approval.approver;
  const allowed = mayAct(approver, await o.github.roleOf(approver.login), o.config, 'approve');
  if (!allowed.allowed) return { refused: `the approval is not valid now: ${allowed.reason}` };
  return { ...found, approver, script: scriptOf(found.comment.body)! };
}

/**
 * Run mode: check the approved plan again from the thread alone (the bot's newest plan, intact, the
 * sha256 the approval named, approved once by the app answering an `/approve` still in the thread,
 * by someone who may approve now and, if the configuration says so, is not the requester; never
 * run), then run exactly its script on the checkout, keep a
 * progress comment, push the branch and open the pull request. A refusal spends nothing.
 */
export async function runApprovedPlan(o: RunModeOptions): Promise<RunModeOutcome> {
  const issue = checkId('issue', o.issue, 'the issue number');
  // Without a valid issue there is no thread to check and nowhere to answer.
  if (!issue.ok) return { status: 'refused', reason: issue.problem };
  const comment = (body: string) => o.github.comment(o.issue, body);
  const refuse = async (reason: string): Promise<RunModeOutcome> => {
    await comment(didNotRun(reason));
    return { status: 'refused', reason };
  };

  const found = await checkApproval(o, o.resume ? { resume: true } : {});
  if ('refused' in found) return refuse(found.refused);
  const { approver, script } = found;

  const previous = found.attempt;
  if (previous && !existsSync(join(o.runsDir, previous.runId))) {
    return refuse(
      `the journal of run \`${previous.runId}\` is not here; the workflow downloads it from the artifact of Actions run ${previous.actionsRunId}, which may have expired`,
    );
  }
  const info = progressInfo(found.marker.planId, o);
  const progressComment = await comment(runProgress(emptyProgress(), info));
  const progress = new ProgressComment(
    (body) => o.github.updateComment(progressComment.id, body),
    (state) => runProgress(state, info),
    o.progressIntervalMs,
  );

  const settings = runSettings(placeOf(o), o.config);
  const summary = await runScript(settings, {
    source: script,
    file: `plan-${found.marker.planId}.js`,
    oracle: 'detect',
    // The plan's per-phase estimate goes in the report; its derived budget applies when none is configured.
    estimate: estimateOf(found.comment.body),
    ...(previous ? { resume: previous.runId } : {}),
    onEvent: (event) => progress.on(event),
  });

  let pullRequest: { number: number; url: string } | undefined;
  if (summary.branch) {
    pullRequest = await openPullRequest(
      o,
      { ...summary, branch: summary.branch },
      { marker: found.marker, approver: approver.login, issue: o.issue },
    );
  }
  await progress.flush(runEndedComment(summary, pullRequest, progress.state, info));
  return { status: summary.status, summary, ...(pullRequest ? { pullRequest } : {}) };
}
