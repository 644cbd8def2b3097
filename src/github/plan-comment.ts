import type { Plan } from '../plan/plan.js';
import { renderPlan } from '../report/plan.js';

/** What a plan comment carries besides the text a person reads. */
export interface PlanMarker {
  planId: string;
  scriptSha256: string;
  baseSha: string;
  requester: string;
  request: string;
  estimate?: { agents: { min: number; max: number }; usd: { min: number; max: number } | null };
}

export interface ApprovalMarker {
  planId: string;
  scriptSha256: string;
  approver: string;
  /** The `/approve` comment this answers: a redelivered webhook finds it and does nothing. */
  commentId: number;
}

const PLAN = /<!-- dynamic-workflows:plan (\{[^\n]*?\}) -->/;
const APPROVAL = /<!-- dynamic-workflows:approval (\{[^\n]*?\}) -->/;
const ACK = /<!-- dynamic-workflows:ack (\d+) -->/;

function marker(kind: string, value: unknown): string {
  // `--` cannot appear inside an HTML comment; JSON never needs it escaped otherwise.
  return `<!-- dynamic-workflows:${kind} ${JSON.stringify(value).replace(/--/g, '-\\u002d')} -->`;
}

function read<T>(pattern: RegExp, body: string): T | undefined {
  const found = pattern.exec(body);
  if (!found) return undefined;
  try {
    return JSON.parse(found[1]!) as T;
  } catch {
    return undefined;
  }
}

export const planMarker = (m: PlanMarker) => marker('plan', m);
export const approvalMarker = (m: ApprovalMarker) => marker('approval', m);
export const ackMarker = (commentId: number) => `<!-- dynamic-workflows:ack ${commentId} -->`;
export const readPlanMarker = (body: string) => read<PlanMarker>(PLAN, body);
export const readApprovalMarker = (body: string) => read<ApprovalMarker>(APPROVAL, body);
export const readAck = (body: string) => {
  const found = ACK.exec(body);
  return found ? Number(found[1]) : undefined;
};

export { sha256 } from '../plan/sha256.js';

/** The script in a plan comment: the first ```js block, exactly as shown. */
export function scriptOf(body: string): string | undefined {
  const open = /^(`{3,})js[ \t]*\r?\n/m.exec(body);
  if (!open) return undefined;
  const fence = open[1]!;
  const start = open.index + open[0].length;
  const close = new RegExp(`\\r?\\n${fence}[ \\t]*(\\r?\\n|$)`).exec(body.slice(start));
  if (!close) return undefined;
  return `${body.slice(start, start + close.index)}\n`;
}

/**
 * The plan comment the runner (or the app) posts: the plan as a person reads it, and a hidden
 * marker binding the plan id, the script's sha256, the base commit, the requester and the estimate.
 * A plan whose verdict is `stop` has no script and no marker: there is nothing to approve.
 */
export function renderPlanComment(
  plan: Plan,
  ids: { planId: string; baseSha: string; requester: string },
): string {
  if (!plan.script || !plan.scriptSha256) return renderPlan(plan);
  const marker = planMarker({
    ...ids,
    scriptSha256: plan.scriptSha256,
    request: plan.request.text,
    ...(plan.estimate ? { estimate: { agents: plan.estimate.agents, usd: plan.estimate.usd } } : {}),
  });
  const howToRun =
    'Reply `/approve` to run exactly this script (someone with the configured permission). ' +
    'Reply `/workflow revise FEEDBACK` for a new plan; an edited comment or a newer plan voids this one.';
  return `${marker}\n${renderPlan(plan, { howToRun })}`;
}
