import { parseCommand } from './commands.js';
import type { Config } from './config.js';
import { checkId } from './ids.js';
import { type ApprovalMarker, markersIn, type PlanMarker, writeMarker } from './markers.js';
import type { Actor } from './permissions.js';
import { scriptOf, sha256 } from './plan-comment.js';

/** A comment as the approval checks see it. */
export interface ThreadComment {
  id: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

type Found = { comment: ThreadComment; marker: PlanMarker };
type Checked = { refused: string } | Found;

/** The plans the bot posted in a thread, oldest first. Anyone else's "plan" is not one. */
export function botPlans(trusted: readonly string[], thread: ThreadComment[]): Found[] {
  return markersIn('plan', thread, trusted);
}

/**
 * The newest plan the bot posted, if it can still be trusted: never edited, and its script still
 * hashes to the sha256 in its marker.
 */
export function newestPlan(trusted: readonly string[], thread: ThreadComment[]): Checked {
  const newest = botPlans(trusted, thread).pop();
  if (!newest)
    return { refused: 'there is no plan in this thread to approve; ask for one with `/workflow audit`' };
  const { comment, marker } = newest;
  if (comment.updated_at !== comment.created_at) {
    return {
      refused: `plan \`${marker.planId}\` was edited after it was posted, so what was estimated is not what would run; ask for a new plan with \`/workflow revise\``,
    };
  }
  const script = scriptOf(comment.body);
  if (script === undefined || sha256(script) !== marker.scriptSha256) {
    return {
      refused: `the script in plan \`${marker.planId}\` does not match its recorded hash; ask for a new plan`,
    };
  }
  return newest;
}

function approvalsOf(trusted: readonly string[], thread: ThreadComment[], planId: string) {
  return markersIn('approval', thread, trusted).filter((a) => a.marker.planId === planId);
}

/** The newest plan, if it may be approved now: the bot's, intact, and not approved before. The app checks this. */
export function approvable(trusted: readonly string[], thread: ThreadComment[]): Checked {
  const found = newestPlan(trusted, thread);
  if ('refused' in found) return found;
  const earlier = approvalsOf(trusted, thread, found.marker.planId)[0];
  if (earlier) {
    return {
      refused: `plan \`${found.marker.planId}\` was already approved by @${earlier.marker.approver}; ask for a new plan to run again`,
    };
  }
  return found;
}

/** The configuration's rule on who approves, beyond permission: a reason to refuse, or nothing. */
export function distinctApproverProblem(
  config: Pick<Config, 'requireDistinctApprover'>,
  approver: string,
  plan: PlanMarker,
): string | undefined {
  if (!config.requireDistinctApprover || approver !== plan.requester) return undefined;
  return `@${approver} asked for this plan, and this repository requires someone else to approve it (\`requireDistinctApprover\`)`;
}

/** Which run of the engine and which Actions run an attempt at a plan was: what resuming needs. */
export interface Attempt {
  planId: string;
  runId: string;
  actionsRunId: string;
}

/** The marker a run's progress comment ends with: the plan ran, and (once known) which runs it was. */
export const runMarker = (planId: string, attempt?: { runId: string; actionsRunId: string }) =>
  writeMarker('run', { planId, ...attempt });

function runsOf(trusted: readonly string[], thread: ThreadComment[], planId: string) {
  return markersIn('run', thread, trusted).filter((r) => r.marker.planId === planId);
}

/** The newest attempt at a plan the bot recorded, if any; its ids passed their schemas. */
export function latestAttempt(
  trusted: readonly string[],
  thread: ThreadComment[],
  planId: string,
): Attempt | undefined {
  for (const { marker } of runsOf(trusted, thread, planId).reverse()) {
    if (marker.runId && marker.actionsRunId)
      return { planId, runId: marker.runId, actionsRunId: marker.actionsRunId };
  }
  return undefined;
}

/** Who approved, as the thread shows it: the approval the app recorded and the `/approve` it answered. */
export interface Approval {
  marker: ApprovalMarker;
  approver: Actor;
}

/**
 * The approval's own `/approve` comment, checked as the app checked it: still in the thread after
 * the plan, written by the approver (not by the bot), and still an approve command.
 */
function approvalComment(
  trusted: readonly string[],
  thread: ThreadComment[],
  plan: ThreadComment,
  marker: ApprovalMarker,
): { refused: string } | Actor {
  const at = thread.findIndex((c) => c.id === marker.commentId);
  const command = thread[at];
  if (!command || at < thread.indexOf(plan))
    return { refused: `the \`/approve\` comment ${marker.commentId} is not in this thread after the plan` };
  if (command.user.login !== marker.approver || trusted.includes(command.user.login))
    return { refused: `comment ${marker.commentId} was not written by the approver @${marker.approver}` };
  const parsed = parseCommand(command.body);
  if (!('command' in parsed) || parsed.command.type !== 'approve')
    return { refused: `comment ${marker.commentId} no longer says \`/approve\`` };
  return { login: command.user.login, type: command.user.type };
}

/**
 * What the runner checks again before it spends anything, from the thread alone: the plan it was
 * given is the bot's newest, intact, with the sha256 the approval named; approved exactly once by
 * the app, for that script, answering an `/approve` still in the thread by the approver; the
 * approver is not the requester when the configuration requires that; and the plan has not started
 * a run yet (or, to resume, has). The approver's permission now is checked by the caller, with the API.
 */
export function runnable(
  trusted: readonly string[],
  thread: ThreadComment[],
  given: { planCommentId: number; scriptSha256: string; resume?: boolean },
  config: Pick<Config, 'requireDistinctApprover'>,
): { refused: string } | (Found & { approval: Approval; attempt?: Attempt }) {
  const commentId = checkId('commentId', given.planCommentId, 'the plan comment id');
  if (!commentId.ok) return { refused: commentId.problem };
  const sha = checkId('sha256', given.scriptSha256, 'the approved script hash');
  if (!sha.ok) return { refused: sha.problem };
  const found = newestPlan(trusted, thread);
  if ('refused' in found) return found;
  const { planId } = found.marker;
  if (found.comment.id !== given.planCommentId) {
    return {
      refused: `comment ${given.planCommentId} is not the newest plan in this thread; a newer plan voids older ones`,
    };
  }
  if (found.marker.scriptSha256 !== given.scriptSha256) {
    return { refused: `the approved sha256 ${given.scriptSha256} is not the sha256 of plan \`${planId}\`` };
  }
  const approvals = approvalsOf(trusted, thread, planId);
  if (approvals.length !== 1) {
    return {
      refused:
        approvals.length === 0
          ? `plan \`${planId}\` has no approval from the app`
          : `plan \`${planId}\` was approved ${approvals.length} times; ask for a new plan`,
    };
  }
  const marker = approvals[0]!.marker;
  if (marker.scriptSha256 !== found.marker.scriptSha256)
    return { refused: `the approval of plan \`${planId}\` names another script` };
  const approver = approvalComment(trusted, thread, found.comment, marker);
  if ('refused' in approver) return approver;
  const distinct = distinctApproverProblem(config, marker.approver, found.marker);
  if (distinct) return { refused: `the approval is not valid: ${distinct}` };
  const approval = { marker, approver };
  const ran = runsOf(trusted, thread, planId).length > 0;
  if (given.resume) {
    // Resuming continues the approved plan's own run, from its journal: only a plan that ran.
    const attempt = latestAttempt(trusted, thread, planId);
    if (!ran || !attempt) return { refused: `plan \`${planId}\` has no earlier run to resume` };
    return { ...found, approval, attempt };
  }
  if (ran) return { refused: `plan \`${planId}\` has run already; ask for a new plan to run again` };
  return { ...found, approval };
}
