import type { Octokit } from '@octokit/rest';
import { runGit } from '../agents/git.js';
import type { Config } from '../github/config.js';
import { checkId } from '../github/ids.js';
import { readMarker } from '../github/markers.js';
import { renderPlanComment } from '../github/plan-comment.js';
import type { ModelProvider } from '../models/types.js';
import { createPlan, type Plan } from '../plan/plan.js';

export interface PlanModeOptions {
  octokit: Octokit;
  owner: string;
  repo: string;
  issue: number;
  /** What was asked: `audit`, `migrate X`, words... */
  request: string;
  requester: string;
  /** A revision: the plan comment it replaces and the feedback for it. */
  revise?: { planCommentId: number; feedback: string };
  checkout: string;
  config: Config;
  /**
   * Logins whose comments are the bot's: a revision takes the earlier request only from a plan one
   * of them posted; otherwise (or without this list) it starts from the dispatched request.
   */
  trusted?: string[];
  /** Writes scripts for requests in words; its model also prices the estimate. */
  provider: ModelProvider;
  /** Unique per planning job, e.g. the Actions run id. */
  planId: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Plan mode: assess the checkout (with a baseline test run), decide, write the script, estimate
 * it, and post the plan comment that `/approve` binds to.
 */
export async function postPlan(o: PlanModeOptions): Promise<{ plan: Plan; commentId: number }> {
  // The dispatch inputs are checked before they name anything: a bad one is a clear error.
  for (const problem of [
    checkId('planId', o.planId, 'the plan id'),
    checkId('login', o.requester, 'the requester'),
    checkId('issue', o.issue, 'the issue number'),
    ...(o.revise ? [checkId('commentId', o.revise.planCommentId, 'the plan comment to revise')] : []),
  ]) {
    if (!problem.ok) throw new Error(problem.problem);
  }
  let request = o.request;
  if (o.revise) {
    const { data } = await o.octokit.rest.issues.getComment({
      owner: o.owner,
      repo: o.repo,
      comment_id: o.revise.planCommentId,
    });
    const previous = readMarker('plan', data, o.trusted ?? []);
    // A revision is a request in words: the old request and the feedback, for the model to plan.
    request = `${previous?.request ?? o.request} — revised: ${o.revise.feedback}`;
  }
  const model = o.provider.modelFor(o.provider.defaultModel);
  const plan = await createPlan({
    repoDir: o.checkout,
    request,
    model,
    author: o.provider,
    concurrency: o.config.concurrency,
    maxAgents: o.config.maxAgents,
    budget: { tokens: o.config.budget.tokens ?? null, usd: o.config.budget.usd ?? null },
    ...(o.config.oracle?.command ? { oracle: o.config.oracle.command } : {}),
    ...(o.config.scope?.include.length ? { include: o.config.scope.include } : {}),
    ...(o.config.scope?.exclude.length ? { exclude: o.config.scope.exclude } : {}),
    baseline: true,
    isolation: o.config.isolation,
    ...(o.env ? { env: o.env } : {}),
  });
  const baseSha = (await runGit(['rev-parse', 'HEAD'], { cwd: o.checkout })).trim();
  const body = renderPlanComment(plan, { planId: o.planId, baseSha, requester: o.requester });
  const { data } = await o.octokit.rest.issues.createComment({
    owner: o.owner,
    repo: o.repo,
    issue_number: o.issue,
    body,
  });
  return { plan, commentId: data.id };
}
