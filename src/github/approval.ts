import { type PlanMarker, readApprovalMarker, readPlanMarker, scriptOf, sha256 } from './plan-comment.js';

/** A comment as the approval checks see it. */
export interface ThreadComment {
  id: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

export function trustedPlans(trusted: string[], thread: ThreadComment[]): ThreadComment[] {
  return thread.filter((c) => readPlanMarker(c.body) && trusted.includes(c.user.login));
}

type Checked = { refused: string } | { comment: ThreadComment; marker: PlanMarker };

/**
 * The newest plan comment in a thread, if it can be trusted: written by the app or the repository's
 * Actions identity, never edited, and its script still hashes to the sha256 in its marker.
 */
export function newestPlan(trusted: string[], thread: ThreadComment[]): Checked {
  const plans = thread.filter((c) => readPlanMarker(c.body));
  const newest = plans[plans.length - 1];
  if (!newest)
    return { refused: 'there is no plan in this thread to approve; ask for one with `/workflow audit`' };
  if (!trusted.includes(newest.user.login)) {
    return {
      refused: `the newest plan comment was written by @${newest.user.login}, not by the app: only plans the app or this repository's Actions posted can be approved`,
    };
  }
  const marker = readPlanMarker(newest.body)!;
  if (newest.updated_at !== newest.created_at) {
    return {
      refused: `plan \`${marker.planId}\` was edited after it was posted, so what was estimated is not what would run; ask for a new plan with \`/workflow revise\``,
    };
  }
  const script = scriptOf(newest.body);
  if (script === undefined || sha256(script) !== marker.scriptSha256) {
    return {
      refused: `the script in plan \`${marker.planId}\` does not match its recorded hash; ask for a new plan`,
    };
  }
  return { comment: newest, marker };
}

function approvalsOf(trusted: string[], thread: ThreadComment[], planId: string) {
  return thread.filter(
    (c) => trusted.includes(c.user.login) && readApprovalMarker(c.body)?.planId === planId,
  );
}

/** The newest plan, if it may be approved now: trusted, intact, and not approved before. The app checks this. */
export function approvable(trusted: string[], thread: ThreadComment[]): Checked {
  const found = newestPlan(trusted, thread);
  if ('refused' in found) return found;
  const earlier = approvalsOf(trusted, thread, found.marker.planId)[0];
  if (earlier) {
    return {
      refused: `plan \`${found.marker.planId}\` was already approved by @${readApprovalMarker(earlier.body)!.approver}; ask for a new plan to run again`,
    };
  }
  return found;
}

export const RUN_MARKER = (planId: string) => `<!-- dynamic-workflows:run ${JSON.stringify(planId)} -->`;

/** Which run of the engine and which Actions run an attempt at a plan was: what resuming needs. */
export interface Attempt {
  planId: string;
  runId: string;
  actionsRunId: string;
}

const ATTEMPT = /<!-- dynamic-workflows:attempt (\{[^\n]*?\}) -->/;

export const attemptMarker = (a: Attempt) => `<!-- dynamic-workflows:attempt ${JSON.stringify(a)} -->`;

/** The newest attempt at a plan recorded by a trusted author, if any. */
export function latestAttempt(
  trusted: string[],
  thread: ThreadComment[],
  planId: string,
): Attempt | undefined {
  for (const c of [...thread].reverse()) {
    if (!trusted.includes(c.user.login)) continue;
    const found = ATTEMPT.exec(c.body);
    if (!found) continue;
    try {
      const attempt = JSON.parse(found[1]!) as Attempt;
      if (attempt.planId === planId) return attempt;
    } catch {
      // A malformed marker is no attempt.
    }
  }
  return undefined;
}

/**
 * What the runner checks again before it spends anything: the plan it was given is the newest,
 * trusted and intact, has the sha256 the approval named, was approved exactly once, and has not
 * started a run yet.
 */
export function runnable(
  trusted: string[],
  thread: ThreadComment[],
  given: { planCommentId: number; scriptSha256: string; resume?: boolean },
): Checked & { approver?: string; attempt?: Attempt } {
  const found = newestPlan(trusted, thread);
  if ('refused' in found) return found;
  if (found.comment.id !== given.planCommentId) {
    return {
      refused: `comment ${given.planCommentId} is not the newest plan in this thread; a newer plan voids older ones`,
    };
  }
  if (found.marker.scriptSha256 !== given.scriptSha256) {
    return {
      refused: `the approved sha256 ${given.scriptSha256} is not the sha256 of plan \`${found.marker.planId}\``,
    };
  }
  const approvals = approvalsOf(trusted, thread, found.marker.planId);
  if (approvals.length !== 1)
    return { refused: `plan \`${found.marker.planId}\` has no approval from the app` };
  const approver = readApprovalMarker(approvals[0]!.body)!.approver;
  const ran = thread.some(
    (c) => trusted.includes(c.user.login) && c.body.includes(RUN_MARKER(found.marker.planId)),
  );
  if (given.resume) {
    // Resuming continues the approved plan's own run, from its journal: only a plan that ran.
    const attempt = latestAttempt(trusted, thread, found.marker.planId);
    if (!ran || !attempt) return { refused: `plan \`${found.marker.planId}\` has no earlier run to resume` };
    return { ...found, approver, attempt };
  }
  if (ran)
    return { refused: `plan \`${found.marker.planId}\` has run already; ask for a new plan to run again` };
  return { ...found, approver };
}
