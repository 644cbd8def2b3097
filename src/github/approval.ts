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

/**
 * Why the newest plan in a thread may not run, or the plan that may: the newest plan comment,
 * written by a trusted identity, never edited, whose script hashes to its marker, not approved
 * before. The app checks this before dispatching; the runner checks it again before running.
 */
export function approvable(
  trusted: string[],
  thread: ThreadComment[],
): { refused: string } | { comment: ThreadComment; marker: PlanMarker } {
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
  const earlier = thread.find(
    (c) => trusted.includes(c.user.login) && readApprovalMarker(c.body)?.planId === marker.planId,
  );
  if (earlier) {
    return {
      refused: `plan \`${marker.planId}\` was already approved by @${readApprovalMarker(earlier.body)!.approver}; ask for a new plan to run again`,
    };
  }
  return { comment: newest, marker };
}
