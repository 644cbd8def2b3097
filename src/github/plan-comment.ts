import type { Budgeted, PhaseEstimate } from '../plan/estimate.js';
import type { Plan } from '../plan/plan.js';
import { fenceFor } from '../report/format.js';
import { renderPlan } from '../report/plan.js';
import { type ApprovalMarker, neutralise, type PlanMarker, writeMarker } from './markers.js';

export { sha256 } from '../plan/sha256.js';
export type { ApprovalMarker, PlanMarker } from './markers.js';

export const planMarker = (m: PlanMarker) => writeMarker('plan', m);
export const approvalMarker = (m: ApprovalMarker) => writeMarker('approval', m);

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
 * The plan as a comment shows it. Everything but the script (which must stay byte for byte what
 * was hashed, and sits in a fence) is neutralised: the request, the assessment of the repository
 * and the model's reasons and questions can never open an HTML comment in the bot's name.
 */
function renderVisiblePlan(plan: Plan, howToRun?: string): string {
  const text = renderPlan(plan, howToRun ? { howToRun } : {});
  if (!plan.script) return neutralise(text);
  const fence = fenceFor(plan.script);
  const block = `${fence}js\n${plan.script.trimEnd()}\n${fence}`;
  const at = text.indexOf(block);
  if (at < 0) return neutralise(text);
  return neutralise(text.slice(0, at)) + block + neutralise(text.slice(at + block.length));
}

/**
 * The plan comment the runner (or the app) posts: its first line is the hidden marker binding the
 * plan id, the script's sha256, the base commit, the requester, the estimate and, for a plan split
 * across runners, the number of shards; then the plan as a person reads it. A plan whose verdict is `stop` has no script and no marker: nothing to approve.
 */
export function renderPlanComment(
  plan: Plan,
  ids: { planId: string; baseSha: string; requester: string },
): string {
  if (!plan.script || !plan.scriptSha256) return renderVisiblePlan(plan);
  const marker = planMarker({
    ...ids,
    scriptSha256: plan.scriptSha256,
    request: plan.request.text,
    ...(plan.estimate ? { estimate: { agents: plan.estimate.agents, usd: plan.estimate.usd } } : {}),
    // A sharded plan: /approve dispatches the sharded path, which reads the count from here.
    ...(plan.shards && plan.shards.count >= 2 ? { shards: plan.shards.count } : {}),
  });
  const howToRun =
    'Reply `/approve` to run exactly this script (someone with the configured permission). ' +
    'Reply `/workflow revise FEEDBACK` for a new plan; an edited comment or a newer plan voids this one.';
  return `${marker}\n${renderVisiblePlan(plan, howToRun)}`;
}

const NUMBER = /^\$?([\d.]+)([kM]?)$/;

function amount(text: string): number {
  const m = NUMBER.exec(text.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'M' ? 1e6 : m[2] === 'k' ? 1e3 : 1);
}

function rangeOf(text: string): { min: number; max: number } | null {
  const [min, max = min] = text.split('–').map(amount);
  return Number.isFinite(min) && Number.isFinite(max) ? { min: min!, max: max! } : null;
}

/**
 * The estimate a plan comment shows, read back for the run it approves: the per-phase table (for
 * the report's estimate vs actual) and the budget derived from the estimate (applied when the
 * configuration sets none). Read only from the bot's own plan comment, found by its marker.
 */
export function estimateOf(body: string): { phases: PhaseEstimate[]; budget?: Budgeted } {
  const phases: PhaseEstimate[] = [];
  const start = body.indexOf('| phase | agents | tokens | dollars |');
  if (start >= 0) {
    for (const row of body.slice(start).split('\n').slice(2)) {
      const cells = /^\| (.+?) \| (.+?) \| (.+?) \| (.+?) \|$/.exec(row.trim());
      if (!cells) break;
      const agents = rangeOf(cells[2]!);
      const tokens = rangeOf(cells[3]!);
      if (!agents || !tokens) break;
      phases.push({ phase: cells[1]!, agents, tokens, usd: rangeOf(cells[4]!) });
    }
  }
  const budget = /^Budget: \$([\d.]+), the estimate's maximum × ([\d.]+)/m.exec(body);
  return {
    phases,
    ...(budget
      ? {
          budget: {
            usd: Number(budget[1]),
            tokens: null,
            source: 'estimate' as const,
            margin: Number(budget[2]),
          },
        }
      : {}),
  };
}
