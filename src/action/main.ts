import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import yaml from 'js-yaml';
import { configuredSecrets, Redactor } from '../agents/secrets.js';
import { CONFIG_FILE, type Config, configProblemComment, parseConfig } from '../github/config.js';
import { DISPATCH_MODES, type Dispatch, parseDispatch } from '../github/dispatch.js';
import { type CommandPort, onComment, onLabel, onWorkflowRun } from '../github/handlers.js';
import { type GitHubPort, octokitPort } from '../github/port.js';
import * as texts from '../github/texts.js';
import { resolveModel } from '../models/resolve.js';
import type { ModelProvider } from '../models/types.js';
import { mergeJob } from './merge-mode.js';
import { postPlan } from './plan-mode.js';
import { pushWith } from './pull-request.js';
import { runApprovedPlan } from './run-mode.js';
import { shardJob } from './shard-mode.js';
import { shardsJob } from './shards-mode.js';
import { runSweep } from './sweep-mode.js';

/** Everything the action reads from its environment; pure, so it is easy to test. */
export interface ActionContext {
  owner: string;
  repo: string;
  eventName: string;
  event: Record<string, unknown>;
  workspace: string;
  apiUrl: string;
  serverUrl: string;
  /** This GitHub Actions run (GITHUB_RUN_ID); not the engine's run id, which names a run directory. */
  actionsRunId: string;
  token: string;
  modelKey?: string;
  summaryFile?: string;
  runsDir: string;
}

export class ActionError extends Error {}

export function actionContext(env: NodeJS.ProcessEnv): ActionContext {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new ActionError(`${name} is not set: this runs as a GitHub Action step`);
    return value;
  };
  const [owner = '', repo = ''] = need('GITHUB_REPOSITORY').split('/');
  const eventPath = env.GITHUB_EVENT_PATH;
  const event =
    eventPath && existsSync(eventPath)
      ? (JSON.parse(readFileSync(eventPath, 'utf8')) as Record<string, unknown>)
      : {};
  const token = env.INPUT_GITHUB_TOKEN || env.GITHUB_TOKEN;
  if (!token)
    throw new ActionError('no GitHub token: pass the job token as the github_token input of the action');
  const modelKey = env.INPUT_ANTHROPIC_API_KEY || env.ANTHROPIC_API_KEY;
  const workspace = need('GITHUB_WORKSPACE');
  return {
    owner,
    repo,
    eventName: need('GITHUB_EVENT_NAME'),
    event,
    workspace,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    actionsRunId: env.GITHUB_RUN_ID || 'local',
    token,
    ...(modelKey ? { modelKey } : {}),
    ...(env.GITHUB_STEP_SUMMARY ? { summaryFile: env.GITHUB_STEP_SUMMARY } : {}),
    runsDir: join(env.RUNNER_TEMP || join(workspace, '..'), 'dynamic-workflows-runs'),
  };
}

/** The checkout's configuration with the action's overrides on top. */
function readConfig(
  workspace: string,
  env: NodeJS.ProcessEnv,
): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const file = join(workspace, CONFIG_FILE);
  let raw: Record<string, unknown> = {};
  try {
    if (existsSync(file))
      raw = (yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
  } catch (error) {
    return { ok: false, problems: [`the file is not valid YAML: ${(error as Error).message}`] };
  }
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const budget = { ...(raw.budget as object | undefined) } as Record<string, unknown>;
  if (env.INPUT_BUDGET_TOKENS) budget.tokens = number('INPUT_BUDGET_TOKENS');
  if (env.INPUT_BUDGET_USD) budget.usd = number('INPUT_BUDGET_USD');
  return parseConfig({
    ...raw,
    ...(Object.keys(budget).length > 0 ? { budget } : {}),
    ...(env.INPUT_CONCURRENCY ? { concurrency: number('INPUT_CONCURRENCY') } : {}),
    ...(env.INPUT_MODEL ? { model: env.INPUT_MODEL } : {}),
  });
}

/** What to do: the mode input, else the dispatch's mode, else the event itself. */
function modeOf(ctx: ActionContext, inputs: Inputs, env: NodeJS.ProcessEnv): string {
  const given = env.INPUT_MODE;
  if (given && given !== 'auto') return given;
  if (ctx.eventName === 'workflow_dispatch') {
    // A dispatch names one of its own modes; the sharded path's jobs (shards, shard, merge) and the
    // ended step get theirs from the workflow file's steps, never from a dispatch's input.
    const mode = inputs.mode ?? 'plan';
    if (!DISPATCH_MODES.includes(mode))
      throw new ActionError(
        `the dispatch input mode "${mode}" is not a dispatch mode (${DISPATCH_MODES.join(', ')}); shards, shard, merge and ended are set by the workflow file's steps`,
      );
    return mode;
  }
  if (ctx.eventName === 'schedule') return 'sweep';
  return ctx.eventName;
}

export type Inputs = Record<string, string | undefined>;

/** The dispatch's inputs for this mode, through the contract's schema; a bad one is one clear error. */
function dispatched<M extends Dispatch['mode']>(
  mode: M,
  inputs: Inputs,
  issue: number,
): Extract<Dispatch, { mode: M }> {
  // The issue may also come from the event (a job started by an issue event with mode: run).
  const parsed = parseDispatch({ ...inputs, ...(issue > 0 ? { issue: String(issue) } : {}), mode });
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.inputs as Extract<Dispatch, { mode: M }>;
}

/** This job's page. */
export const jobUrlOf = (ctx: ActionContext) =>
  `${ctx.serverUrl}/${ctx.owner}/${ctx.repo}/actions/runs/${ctx.actionsRunId}`;

/** What every mode of one job works with, read once from the environment and the configuration. */
export interface Job {
  ctx: ActionContext;
  env: NodeJS.ProcessEnv;
  github: GitHubPort;
  config: Config;
  inputs: Inputs;
  issue: number;
  /** Only identities the default branch's configuration names: never a dispatch input. */
  trusted: string[];
  secrets: string[];
  provider(): ModelProvider;
  commandEnv: NodeJS.ProcessEnv;
  summary(text: string): void;
  /** A step output (`$GITHUB_OUTPUT`), for the jobs after this one. */
  output(name: string, value: string): void;
}

async function planJob(job: Job): Promise<number> {
  const { ctx, config } = job;
  const inputs = dispatched('plan', job.inputs, job.issue);
  const planned = await postPlan({
    github: job.github,
    issue: inputs.issue,
    request: inputs.request,
    requester: inputs.requester,
    // The asking comment; none for a label. The plan job checks both against GitHub.
    ...(inputs.comment_id !== undefined ? { commentId: inputs.comment_id } : {}),
    ...(inputs.revise_plan_comment_id !== undefined && inputs.feedback !== undefined
      ? { revise: { planCommentId: inputs.revise_plan_comment_id, feedback: inputs.feedback } }
      : {}),
    repoDir: ctx.workspace,
    config,
    trusted: job.trusted,
    provider: job.provider(),
    planId: `plan-${ctx.actionsRunId}`,
    env: job.commandEnv,
    secrets: job.secrets,
  });
  if (planned.status === 'refused') {
    job.summary(texts.didNotPlan(planned.reason));
    return 1;
  }
  const { plan } = planned;
  job.summary(texts.planSummary(inputs.issue, plan.verdict.decision, plan.scriptSha256));
  return 0;
}

async function runJob(job: Job, mode: 'run' | 'resume'): Promise<number> {
  const { ctx } = job;
  const inputs = dispatched(mode, job.inputs, job.issue);
  const outcome = await runApprovedPlan({
    github: job.github,
    issue: inputs.issue,
    planCommentId: inputs.plan_comment_id,
    scriptSha256: inputs.script_sha256,
    repoDir: ctx.workspace,
    runsDir: ctx.runsDir,
    provider: job.provider(),
    config: job.config,
    trusted: job.trusted,
    push: pushWith(ctx),
    jobUrl: jobUrlOf(ctx),
    actionsRunId: ctx.actionsRunId,
    ...(inputs.mode === 'resume' ? { resume: true, resumeActionsRunId: inputs.resume_actions_run_id } : {}),
    env: job.commandEnv,
    secrets: job.secrets,
  });
  if (outcome.status === 'refused') {
    job.summary(texts.refusedToRun(outcome.reason));
    return 1;
  }
  job.summary(readFileSync(outcome.summary.reportPath, 'utf8'));
  return outcome.status === 'completed' ? 0 : 1;
}

async function sweepJob(job: Job): Promise<number> {
  const outcome = await runSweep({
    github: job.github,
    repoDir: job.ctx.workspace,
    runsDir: job.ctx.runsDir,
    provider: job.provider(),
    config: job.config,
    trusted: job.trusted,
    push: pushWith(job.ctx),
    env: job.commandEnv,
    secrets: job.secrets,
  });
  if (outcome.status === 'skipped' || outcome.status === 'refused') {
    job.summary(texts.sweepSkipped(outcome.reason));
    // A refused sweep (no budget of its own) shows red on the scheduled run; a skipped one is fine.
    return outcome.status === 'refused' ? 1 : 0;
  }
  job.summary(texts.sweepSummary(outcome.newFindings, outcome.pullRequest));
  return outcome.status === 'completed' ? 0 : 1;
}

/** Without the app, the job's own identity answers commands; the configuration is the checkout's. */
function commandPort(job: Job): CommandPort {
  const { ctx } = job;
  return {
    ...job.github,
    repoUrl: `${ctx.serverUrl}/${ctx.owner}/${ctx.repo}`,
    trustedAuthors: async () => job.trusted,
    // The configuration read above, overrides included: the handlers see what the job runs with.
    readConfig: async () => job.config,
  };
}

/** The app's handlers, run inline: `ended` (the notice of a failed job), a comment, a label. */
async function commandJob(job: Job, mode: string): Promise<number> {
  const { ctx, env } = job;
  switch (mode) {
    case 'ended': {
      // A step with `if: failure() || cancelled()`: the same notice the app gives from workflow_run
      // (and the same marker, so the two never both comment).
      await onWorkflowRun(commandPort(job), {
        conclusion: env.INPUT_CONCLUSION === 'cancelled' ? 'cancelled' : 'failure',
        html_url: jobUrlOf(ctx),
        display_title: `dynamic workflows #${job.issue}`,
        path: `.github/workflows/${job.config.workflowFile}`,
      });
      return 0;
    }
    case 'issue_comment': {
      const payload = ctx.event as {
        comment: {
          id: number;
          body: string;
          user: { login: string; type: string };
          created_at: string;
          updated_at: string;
        };
        issue: { number: number };
      };
      await onComment(commandPort(job), { issue: payload.issue.number, comment: payload.comment });
      return 0;
    }
    case 'issues': {
      const payload = ctx.event as {
        action: string;
        label?: { name: string };
        sender: { login: string; type: string };
        issue: { number: number; title: string };
      };
      if (payload.action !== 'labeled' || !payload.label) return 0;
      await onLabel(commandPort(job), {
        issue: payload.issue.number,
        label: payload.label.name,
        sender: payload.sender,
        issueTitle: payload.issue.title,
      });
      return 0;
    }
    default:
      throw new ActionError(
        `mode "${mode}" is not supported (plan, run, resume, sweep, shards, shard, merge, ended, or the issue_comment and issues events)`,
      );
  }
}

function runMode(job: Job, mode: string): Promise<number> {
  if (mode === 'plan') return planJob(job);
  if (mode === 'run' || mode === 'resume') return runJob(job, mode);
  if (mode === 'sweep') return sweepJob(job);
  if (mode === 'shards') return shardsJob(job);
  if (mode === 'shard') return shardJob(job);
  if (mode === 'merge') return mergeJob(job);
  return commandJob(job, mode);
}

/**
 * The action: plan, run, or (for teams without the app) the same command handlers as the app,
 * inline. Returns the exit code; every outcome the user must know about is also a comment.
 */
export async function main(env: NodeJS.ProcessEnv, options: { fetch?: typeof fetch } = {}): Promise<number> {
  const ctx = actionContext(env);
  const octokit = new Octokit({
    auth: ctx.token,
    baseUrl: ctx.apiUrl,
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
  });
  const github = octokitPort(octokit, {
    owner: ctx.owner,
    repo: ctx.repo,
    defaultBranch:
      (ctx.event.repository as { default_branch?: string } | undefined)?.default_branch ?? 'main',
  });
  const loaded = readConfig(ctx.workspace, env);
  const inputs: Inputs = {
    ...((ctx.event.inputs as Inputs | undefined) ?? {}),
    ...(env.INPUT_PLAN_COMMENT_ID ? { plan_comment_id: env.INPUT_PLAN_COMMENT_ID } : {}),
    ...(env.INPUT_SCRIPT_SHA256 ? { script_sha256: env.INPUT_SCRIPT_SHA256 } : {}),
  };
  // Where a failure is told, before the inputs are checked: a bad issue number is told nowhere.
  const issue = Number(inputs.issue || ((ctx.event.issue as { number?: number } | undefined)?.number ?? 0));
  if (!loaded.ok) {
    if (issue > 0) await github.comment(issue, configProblemComment(loaded.problems));
    return 1;
  }
  const config = loaded.config;
  // Every secret this job holds, redacted from everything the run writes, shows or sends.
  const secrets = [
    ctx.token,
    ...(ctx.modelKey ? [ctx.modelKey] : []),
    ...configuredSecrets(config.redactEnv, env),
  ];
  const job: Job = {
    ctx,
    env,
    github,
    config,
    inputs,
    issue,
    trusted: ['github-actions[bot]', config.appLogin],
    secrets,
    provider: () =>
      resolveModel(config.model, {
        env: { ...env, ...(ctx.modelKey ? { ANTHROPIC_API_KEY: ctx.modelKey } : {}) },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    commandEnv: { PATH: env.PATH ?? '/usr/bin:/bin' },
    summary: (text) => {
      if (ctx.summaryFile) appendFileSync(ctx.summaryFile, `${text}\n`);
    },
    output: (name, value) => {
      if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
    },
  };
  const mode = modeOf(ctx, inputs, env);
  try {
    return await runMode(job, mode);
  } catch (error) {
    // A failure is never silent: the issue hears what happened (secrets redacted) and how to go on.
    const message = new Redactor(secrets, env).redact((error as Error).message);
    if (issue > 0 && !(error instanceof ActionError)) {
      await github.comment(issue, texts.jobFailed(mode, message));
    }
    throw error;
  }
}
