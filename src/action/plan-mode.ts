import { runGit } from '../agents/git.js';
import { planRequest } from '../flows/plan.js';
import { placeOf, runSettings } from '../flows/settings.js';
import { botPlans } from '../github/approval.js';
import { parseCommand } from '../github/commands.js';
import type { Config } from '../github/config.js';
import { checkId } from '../github/ids.js';
import { mention, quoteUserText } from '../github/markers.js';
import { mayAct } from '../github/permissions.js';
import { renderPlanComment } from '../github/plan-comment.js';
import type { GitHubPort } from '../github/port.js';
import { didNotPlan } from '../github/texts.js';
import type { ModelProvider } from '../models/types.js';
import type { Plan } from '../plan/plan.js';

export interface PlanModeOptions {
  /** The repository's GitHub: the asking comment or label event, roles, the plan comment. */
  github: GitHubPort;
  issue: number;
  /** What was asked: `audit`, `migrate X`, words... */
  request: string;
  /** Who asked, as dispatched: checked against GitHub (the asking comment, or the label event) before anything is planned. */
  requester: string;
  /** The comment that asked (`/workflow ...`); absent when a `workflow:KIND` label asked. */
  commentId?: number | undefined;
  /** A revision: the plan comment it replaces and the feedback for it. */
  revise?: { planCommentId: number; feedback: string };
  repoDir: string;
  config: Config;
  /**
   * Logins whose comments are the bot's: a revision revises the newest plan one of them posted
   * before the revise comment; without one (or without this list) the revision is refused.
   */
  trusted?: string[];
  /** Writes scripts for requests in words; its model also prices the estimate. */
  provider: ModelProvider;
  /** Unique per planning job, e.g. the Actions run id. */
  planId: string;
  env?: NodeJS.ProcessEnv;
  /** Secret values (the job's token, the model key, configured ones) redacted from the baseline's output. */
  secrets?: string[];
}

/** What a dispatch asked for, as GitHub shows it: the request to plan, or why it is refused. */
export type Verified = { request: string } | { refused: string };

/**
 * The dispatch inputs `requester`, `request`, `feedback` and `comment_id` are only claims: anyone
 * who may dispatch the workflow can write them. The plan (and the requester its marker names, which
 * `requireDistinctApprover` compares with the approver) is made only when GitHub shows that person
 * asked for exactly that: their unedited comment on this issue that parses to the dispatched command,
 * or their `labeled` event for the matching `workflow:KIND` label. For a revision, the request
 * revised is the newest plan the bot posted before that comment, as the app chose it.
 */
export async function verifyRequest(
  github: GitHubPort,
  o: Pick<PlanModeOptions, 'issue' | 'request' | 'requester' | 'commentId' | 'revise' | 'trusted'>,
): Promise<Verified> {
  const who = mention(o.requester);
  if (o.commentId === undefined) {
    if (o.revise) return { refused: 'a revision is asked for in a comment, and this dispatch names none' };
    return verifyLabel(github, o);
  }
  const id = o.commentId;
  const comment = await github.getComment(id);
  if (!comment)
    return { refused: `comment ${id} is not a comment on an issue or pull request of this repository` };
  if (!comment.issueUrl.endsWith(`/issues/${o.issue}`))
    return { refused: `comment ${id} was not written on #${o.issue}` };
  const author = comment.user.login;
  if (author !== o.requester)
    return {
      refused: `comment ${id} was written by ${mention(author)}, not by ${who}, whom the dispatch names`,
    };
  // Anyone with write access can edit anyone's comment: an edited one no longer shows what its author asked.
  if (comment.updated_at !== comment.created_at)
    return {
      refused: `comment ${id} was edited after it was posted; post the command again as a new comment`,
    };
  const parsed = parseCommand(comment.body);
  const command = 'command' in parsed ? parsed.command : undefined;
  if (!o.revise) {
    if (command?.type !== 'plan' || command.request !== o.request)
      return { refused: `comment ${id} by ${who} does not ask for ${quoteUserText(o.request)}` };
    return { request: o.request };
  }
  if (command?.type !== 'revise' || command.feedback !== o.revise.feedback)
    return {
      refused: `comment ${id} by ${who} does not ask to revise with ${quoteUserText(o.revise.feedback)}`,
    };
  const thread = await github.listComments(o.issue);
  const at = thread.findIndex((c) => c.id === id);
  const newest = botPlans(o.trusted ?? [], at < 0 ? [] : thread.slice(0, at)).pop();
  if (newest?.comment.id !== o.revise.planCommentId)
    return {
      refused: `comment ${o.revise.planCommentId} is not the newest plan the bot posted before comment ${id}, so it is not the plan ${who} asked to revise`,
    };
  return { request: newest.marker.request };
}

/** A label asked: the requester's own `labeled` event for `workflow:KIND`, with the request it makes. */
async function verifyLabel(
  github: GitHubPort,
  o: Pick<PlanModeOptions, 'issue' | 'request' | 'requester'>,
): Promise<Verified> {
  const events = await github.listIssueEvents(o.issue);
  // The request of migrate and research holds the title at the moment of labelling: walk back from
  // today's title through the renames, newest first.
  let title: string | undefined;
  const newestRename = events.findLast((e) => e.event === 'renamed' && e.rename)?.rename;
  for (const event of [...events].reverse()) {
    if (event.event === 'renamed' && event.rename) {
      title = event.rename.from;
      continue;
    }
    if (event.event !== 'labeled' || event.actor?.login !== o.requester || !event.label) continue;
    const kind = /^workflow:(.+)$/.exec(event.label.name)?.[1]?.trim();
    if (!kind) continue;
    if (!['migrate', 'research'].includes(kind)) {
      if (o.request === kind) return { request: o.request };
      continue;
    }
    if (title === undefined) {
      const today = await github.issueTitle(o.issue);
      // A rename the event list does not show yet (it was read first, or the API lags) would make
      // today's title pass for the one labelled: the newest rename listed must lead to today's.
      if (newestRename && newestRename.to !== today)
        return { refused: `#${o.issue} was renamed while its label was checked; add the label again` };
      title = today;
    }
    if (o.request === `${kind} ${title}`) return { request: o.request };
  }
  return {
    refused: `the dispatch names no comment, and ${mention(o.requester)} added no \`workflow:\` label to #${o.issue} that asks for ${quoteUserText(o.request)}`,
  };
}

/**
 * Plan mode: assess the checkout (with a baseline test run), decide, write the script, estimate
 * it, and post the plan comment that `/approve` binds to.
 */
export async function postPlan(
  o: PlanModeOptions,
): Promise<{ status: 'planned'; plan: Plan; commentId: number } | { status: 'refused'; reason: string }> {
  // The dispatch inputs are checked before they name anything: a bad one is a clear error.
  for (const problem of [
    checkId('planId', o.planId, 'the plan id'),
    checkId('login', o.requester, 'the requester'),
    checkId('issue', o.issue, 'the issue number'),
    ...(o.commentId !== undefined ? [checkId('commentId', o.commentId, 'the asking comment')] : []),
    ...(o.revise ? [checkId('commentId', o.revise.planCommentId, 'the plan comment to revise')] : []),
  ]) {
    if (!problem.ok) throw new Error(problem.problem);
  }
  // Who asked, and for what, comes from GitHub; a dispatch that claims otherwise plans nothing.
  let verified = await verifyRequest(o.github, o);
  if (!('refused' in verified)) {
    // And the one who asked may ask now: a second account without access, or someone whose access
    // was taken away, cannot be named as the requester so that its owner approves their own plan.
    const actor = { login: o.requester, type: o.requester.endsWith('[bot]') ? 'Bot' : 'User' };
    const decision = mayAct(actor, await o.github.roleOf(o.requester), o.config, 'trigger');
    if (!decision.allowed) verified = { refused: decision.reason };
  }
  if ('refused' in verified) {
    await o.github.comment(o.issue, didNotPlan(verified.refused));
    return { status: 'refused', reason: verified.refused };
  }
  // A revision is a request in words: the old request and the feedback, for the model to plan.
  const request = o.revise ? `${verified.request} — revised: ${o.revise.feedback}` : verified.request;
  const settings = runSettings(placeOf(o), o.config);
  const plan = await planRequest(settings, { request, author: o.provider, baseline: true });
  const baseSha = (await runGit(['rev-parse', 'HEAD'], { cwd: o.repoDir })).trim();
  const body = renderPlanComment(plan, { planId: o.planId, baseSha, requester: o.requester });
  const posted = await o.github.comment(o.issue, body);
  return { status: 'planned', plan, commentId: posted.id };
}
