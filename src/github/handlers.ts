import {
  approvable,
  botPlans,
  distinctApproverProblem,
  latestAttempt,
  type ThreadComment,
} from './approval.js';
import { type Command, parseCommand } from './commands.js';
import { type Config, configProblemComment, parseConfig } from './config.js';
import { dispatchInputs } from './dispatch.js';
import { markersIn, type PlanMarker, readMarker } from './markers.js';
import { type Actor, mayAct } from './permissions.js';
import type { GitHubPort } from './port.js';
import * as texts from './texts.js';

/**
 * What the command handlers work with: the GitHub port, and what the door that runs them knows of
 * the repository (the app from its webhook and Probot, the commands job from its checkout).
 */
export interface CommandPort extends GitHubPort {
  /** The repository's web page (on github.com or a GitHub Enterprise Server): every link starts here. */
  repoUrl: string;
  /** Logins whose plan comments are trusted: the app's bot and the repository's Actions identity. */
  trustedAuthors(): Promise<string[]>;
  /** Raw configuration as Probot read it (organisation defaults merged), or null when absent. */
  readConfig(): Promise<unknown>;
}

export interface CommentEvent {
  issue: number;
  comment: ThreadComment;
}

/** A comment on the issue; the handlers never need its id. */
async function reply(gh: CommandPort, issue: number, body: string): Promise<void> {
  await gh.comment(issue, body);
}

async function loadConfig(
  gh: CommandPort,
  issue: number,
  thread: ThreadComment[],
  trusted: string[],
): Promise<Config | undefined> {
  const parsed = parseConfig(await gh.readConfig());
  if (parsed.ok) return parsed.config;
  const body = configProblemComment(parsed.problems);
  // One comment per distinct problem, however often it is hit (only the bot's own notice counts).
  if (!thread.some((c) => c.body === body && trusted.includes(c.user.login))) await gh.comment(issue, body);
  return undefined;
}

function actionsUrl(gh: CommandPort, config: Config): string {
  return `${gh.repoUrl}/actions/workflows/${encodeURIComponent(config.workflowFile)}`;
}

async function plan(
  gh: CommandPort,
  event: CommentEvent,
  config: Config,
  request: string,
  revision: { revise_plan_comment_id: number; feedback: string } | Record<string, never> = {},
) {
  await gh.react(event.comment.id, 'eyes');
  const { runUrl } = await gh.dispatch(
    config.workflowFile,
    dispatchInputs({
      mode: 'plan',
      issue: event.issue,
      request,
      requester: event.comment.user.login,
      comment_id: event.comment.id,
      ...revision,
    }),
  );
  await gh.comment(
    event.issue,
    texts.planningStarted({
      request,
      requester: event.comment.user.login,
      runUrl: runUrl ?? actionsUrl(gh, config),
      commentId: event.comment.id,
    }),
  );
}

async function approve(
  gh: CommandPort,
  event: CommentEvent,
  config: Config,
  thread: ThreadComment[],
  trusted: string[],
) {
  const found = approvable(trusted, thread);
  if ('refused' in found) return reply(gh, event.issue, texts.notApproved(found.refused));
  const approver = event.comment.user.login;
  const distinct = distinctApproverProblem(config, approver, found.marker);
  if (distinct) return reply(gh, event.issue, texts.notApproved(distinct));
  await gh.react(event.comment.id, '+1');
  const plan = {
    issue: event.issue,
    plan_comment_id: found.comment.id,
    script_sha256: found.marker.scriptSha256,
  };
  // A sharded plan runs on the workflow's sharded path: a job per shard, then one merge.
  await gh.dispatch(
    config.workflowFile,
    dispatchInputs(
      isSharded(found.marker) ? { mode: 'sharded', ...plan } : { mode: 'run', ...plan, approver },
    ),
  );
  await gh.comment(
    event.issue,
    texts.approved({
      approval: {
        planId: found.marker.planId,
        scriptSha256: found.marker.scriptSha256,
        approver,
        commentId: event.comment.id,
      },
      estimate: found.marker.estimate,
      ...(isSharded(found.marker) ? { shards: found.marker.shards } : {}),
      actionsUrl: actionsUrl(gh, config),
    }),
  );
}

/** A plan split across runners: its marker, checked by `runnable`/`approvable` first, names 2 or more shards. */
const isSharded = (marker: PlanMarker): marker is PlanMarker & { shards: number } =>
  marker.shards !== undefined && marker.shards >= 2;

function alreadyAnswered(trusted: string[], thread: ThreadComment[], commentId: number): boolean {
  return thread.some(
    (c) =>
      readMarker('ack', c, trusted) === commentId ||
      readMarker('approval', c, trusted)?.commentId === commentId,
  );
}

function dispatchedCommand(
  command: Command,
): command is Extract<Command, { type: 'plan' | 'revise' | 'resume' }> {
  return command.type === 'plan' || command.type === 'revise' || command.type === 'resume';
}

/** Cancels this issue's runs directly: a cancel dispatched to the workflow would queue behind the run it means to stop. */
async function cancel(gh: CommandPort, event: CommentEvent, config: Config) {
  const mine = (await gh.activeRuns(config.workflowFile)).filter((r) =>
    new RegExp(`#${event.issue}\\b`).test(r.title),
  );
  if (mine.length === 0) return reply(gh, event.issue, texts.nothingToCancel());
  for (const run of mine) await gh.cancelRun(run.id);
  await gh.comment(
    event.issue,
    texts.cancelled({ requester: event.comment.user.login, runs: mine, commentId: event.comment.id }),
  );
}

/**
 * A new comment on an issue or pull request. Everything it decides is derived from the thread and
 * the API at this moment, so a redelivered webhook does nothing twice.
 */
export async function onComment(gh: CommandPort, event: CommentEvent): Promise<void> {
  const parsed = parseCommand(event.comment.body);
  if ('none' in parsed) return;
  const trusted = await gh.trustedAuthors();
  if (trusted.includes(event.comment.user.login)) return;
  const thread = await gh.listComments(event.issue);
  if (alreadyAnswered(trusted, thread, event.comment.id)) return;
  const config = await loadConfig(gh, event.issue, thread, trusted);
  if (!config) return;
  const actor = event.comment.user;
  if (actor.type === 'Bot' && !config.allowBots.includes(actor.login)) return;
  if ('error' in parsed) return reply(gh, event.issue, texts.commandProblem(parsed.error));
  const { command } = parsed;
  if (command.type === 'help') return reply(gh, event.issue, texts.help());
  const action = command.type === 'approve' ? 'approve' : 'trigger';
  const decision = mayAct(actor, await gh.roleOf(actor.login), config, action);
  if (!decision.allowed) return reply(gh, event.issue, texts.nothingDone(decision.reason));
  if (command.type === 'approve') return approve(gh, event, config, thread, trusted);
  if (command.type === 'status') return reply(gh, event.issue, statusOf(trusted, thread));
  if (command.type === 'cancel') return cancel(gh, event, config);
  if (dispatchedCommand(command)) {
    if (command.type === 'plan') return plan(gh, event, config, command.request);
    const newestPlan = botPlans(trusted, thread).pop();
    if (!newestPlan) return reply(gh, event.issue, texts.noPlanTo(command.type));
    const { comment: newest, marker } = newestPlan;
    if (command.type === 'revise') {
      return plan(gh, event, config, marker.request, {
        revise_plan_comment_id: newest.id,
        feedback: command.feedback,
      });
    }
    const attempt = latestAttempt(trusted, thread, marker.planId);
    if (!attempt) return reply(gh, event.issue, texts.nothingToResume(marker.planId));
    await gh.react(event.comment.id, 'eyes');
    // The run job downloads the journal from that Actions run's artifact, checks the plan again and
    // resumes; a sharded run's shards job reads its shards' artifacts and runs only the incomplete ones.
    await gh.dispatch(
      config.workflowFile,
      dispatchInputs({
        mode: isSharded(marker) ? 'sharded' : 'resume',
        issue: event.issue,
        plan_comment_id: newest.id,
        script_sha256: marker.scriptSha256,
        resume_actions_run_id: attempt.actionsRunId,
      }),
    );
    await gh.comment(
      event.issue,
      texts.resuming({
        planId: marker.planId,
        runId: attempt.runId,
        ...(isSharded(marker) ? { shards: marker.shards } : {}),
        requester: actor.login,
        actionsUrl: actionsUrl(gh, config),
        commentId: event.comment.id,
      }),
    );
  }
}

function statusOf(trusted: string[], thread: ThreadComment[]): string {
  const newest = botPlans(trusted, thread).pop()?.marker;
  const approval = markersIn('approval', thread, trusted)
    .map((a) => a.marker)
    .find((a) => a.planId === newest?.planId);
  return texts.planStatus(newest, approval);
}

/** A label `workflow:KIND` on an issue: the same as the command, with the issue's text as the request. */
export async function onLabel(
  gh: CommandPort,
  event: { issue: number; label: string; sender: Actor; issueTitle: string },
): Promise<void> {
  const kind = /^workflow:(.+)$/.exec(event.label)?.[1]?.trim();
  if (!kind) return;
  const thread = await gh.listComments(event.issue);
  const config = await loadConfig(gh, event.issue, thread, await gh.trustedAuthors());
  if (!config) return;
  const decision = mayAct(event.sender, await gh.roleOf(event.sender.login), config, 'trigger');
  if (!decision.allowed) return reply(gh, event.issue, texts.labelRefused(event.label, decision.reason));
  // The title is the request's data: it goes to the planner as such, and the reply only quotes it.
  const request = ['migrate', 'research'].includes(kind) ? `${kind} ${event.issueTitle}` : kind;
  // No comment asked: the job checks the sender's label event instead.
  await gh.dispatch(
    config.workflowFile,
    dispatchInputs({ mode: 'plan', issue: event.issue, request, requester: event.sender.login }),
  );
  await gh.comment(
    event.issue,
    texts.planningStartedByLabel({
      request,
      requester: event.sender.login,
      label: event.label,
      actionsUrl: actionsUrl(gh, config),
    }),
  );
}

export interface FinishedRun {
  conclusion: string | null;
  html_url: string;
  display_title: string;
  path: string;
}

const BAD_ENDINGS = ['failure', 'cancelled', 'timed_out', 'startup_failure'] as const;

/** Whether a workflow run's conclusion is one that ends with a notice on its issue. */
const isBadEnding = (conclusion: string | null): conclusion is (typeof BAD_ENDINGS)[number] =>
  (BAD_ENDINGS as readonly (string | null)[]).includes(conclusion);

/** A run of our workflow that failed, was cancelled or timed out still ends with a comment on its issue. */
export async function onWorkflowRun(gh: CommandPort, run: FinishedRun): Promise<void> {
  const conclusion = run.conclusion;
  if (!isBadEnding(conclusion)) return;
  const config = parseConfig(await gh.readConfig());
  const file = config.ok ? config.config.workflowFile : 'dynamic-workflows.yml';
  if (!run.path.endsWith(`/${file}`)) return;
  // The workflow's run-name is "dynamic workflows #ISSUE ...": the issue it answers.
  const issue = Number(/#(\d+)/.exec(run.display_title)?.[1]);
  if (!Number.isInteger(issue) || issue <= 0) return;
  const thread = await gh.listComments(issue);
  const trusted = await gh.trustedAuthors();
  if (markersIn('run-ended', thread, trusted).some((m) => m.marker === run.html_url)) return;
  await gh.comment(issue, texts.workflowRunEnded(conclusion, run.html_url));
}
