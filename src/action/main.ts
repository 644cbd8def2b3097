import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import yaml from 'js-yaml';
import { pushBranch } from '../agents/git.js';
import { configuredSecrets, Redactor } from '../agents/secrets.js';
import { onComment, onLabel, onWorkflowRun } from '../app/handlers.js';
import { CONFIG_FILE, type Config, configProblemComment, parseConfig } from '../github/config.js';
import { octokitPort } from '../github/port.js';
import { resolveModel } from '../models/resolve.js';
import { postPlan } from './plan-mode.js';
import { runApprovedPlan } from './run-mode.js';
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
  runId: string;
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
    runId: env.GITHUB_RUN_ID || 'local',
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
  if (ctx.eventName === 'workflow_dispatch') return inputs.mode ?? 'plan';
  if (ctx.eventName === 'schedule') return 'sweep';
  return ctx.eventName;
}

type Inputs = Record<string, string | undefined>;

/** Pushes the run's branch with the job's token, given to git for this one command only. */
function pushWith(ctx: ActionContext) {
  return (branch: string) =>
    pushBranch({ cwd: ctx.workspace, serverUrl: ctx.serverUrl, token: ctx.token, branch });
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
  const loaded = readConfig(ctx.workspace, env);
  const inputs: Inputs = {
    ...((ctx.event.inputs as Inputs | undefined) ?? {}),
    ...(env.INPUT_PLAN_COMMENT_ID ? { plan_comment_id: env.INPUT_PLAN_COMMENT_ID } : {}),
    ...(env.INPUT_SCRIPT_SHA256 ? { script_sha256: env.INPUT_SCRIPT_SHA256 } : {}),
  };
  const issue = Number(inputs.issue ?? (ctx.event.issue as { number?: number } | undefined)?.number ?? 0);
  if (!loaded.ok) {
    if (issue > 0) {
      await octokit.rest.issues.createComment({
        owner: ctx.owner,
        repo: ctx.repo,
        issue_number: issue,
        body: configProblemComment(loaded.problems),
      });
    }
    return 1;
  }
  const config = loaded.config;
  // Every secret this job holds, redacted from everything the run writes, shows or sends.
  const secrets = [
    ctx.token,
    ...(ctx.modelKey ? [ctx.modelKey] : []),
    ...configuredSecrets(config.redactEnv, env),
  ];
  const modelSpec = config.model;
  const provider = () =>
    resolveModel(modelSpec, {
      env: { ...env, ...(ctx.modelKey ? { ANTHROPIC_API_KEY: ctx.modelKey } : {}) },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const commandEnv = { PATH: env.PATH ?? '/usr/bin:/bin' };
  const mode = modeOf(ctx, inputs, env);
  // Only identities the default branch's configuration names: never a dispatch input.
  const trusted = ['github-actions[bot]', config.appLogin];
  const defaultBranch =
    (ctx.event.repository as { default_branch?: string } | undefined)?.default_branch ?? 'main';
  // Without the app, the job's own identity answers commands; the configuration is the checkout's.
  const port = () =>
    octokitPort(octokit, {
      owner: ctx.owner,
      repo: ctx.repo,
      defaultBranch,
      repoUrl: `${ctx.serverUrl}/${ctx.owner}/${ctx.repo}`,
      trustedAuthors: async () => trusted,
      // The configuration read above, overrides included: the handlers see what the job runs with.
      readConfig: async () => config,
    });
  const summary = (text: string) => {
    if (ctx.summaryFile) appendFileSync(ctx.summaryFile, `${text}\n`);
  };

  const runMode = async (): Promise<number> => {
    switch (mode) {
      case 'plan': {
        const planned = await postPlan({
          octokit,
          owner: ctx.owner,
          repo: ctx.repo,
          issue,
          request: inputs.request ?? 'audit',
          requester: inputs.requester ?? 'unknown',
          // The asking comment; none for a label. The plan job checks both against GitHub.
          ...(inputs.comment_id ? { commentId: Number(inputs.comment_id) } : {}),
          ...(inputs.revise_plan_comment_id && inputs.feedback
            ? { revise: { planCommentId: Number(inputs.revise_plan_comment_id), feedback: inputs.feedback } }
            : {}),
          checkout: ctx.workspace,
          config,
          trusted,
          provider: provider(),
          planId: `plan-${ctx.runId}`,
          env: commandEnv,
          secrets,
        });
        if (planned.status === 'refused') {
          summary(`Did not plan: ${planned.reason}.`);
          return 1;
        }
        const { plan } = planned;
        summary(
          `Plan for #${issue}: verdict \`${plan.verdict.decision}\`${plan.scriptSha256 ? `, script sha256:${plan.scriptSha256}` : ''}.`,
        );
        return 0;
      }
      case 'run':
      case 'resume': {
        const outcome = await runApprovedPlan({
          octokit,
          owner: ctx.owner,
          repo: ctx.repo,
          defaultBranch,
          issue,
          planCommentId: Number(inputs.plan_comment_id),
          scriptSha256: inputs.script_sha256 ?? '',
          checkout: ctx.workspace,
          runsDir: ctx.runsDir,
          provider: provider(),
          config,
          trusted,
          push: pushWith(ctx),
          jobUrl: `${ctx.serverUrl}/${ctx.owner}/${ctx.repo}/actions/runs/${ctx.runId}`,
          actionsRunId: ctx.runId,
          ...(mode === 'resume' ? { resume: true } : {}),
          env: commandEnv,
          secrets,
        });
        if (outcome.status === 'refused') {
          summary(`Refused to run: ${outcome.reason}.`);
          return 1;
        }
        summary(readFileSync(outcome.summary.reportPath, 'utf8'));
        return outcome.status === 'completed' ? 0 : 1;
      }
      case 'sweep': {
        const outcome = await runSweep({
          octokit,
          owner: ctx.owner,
          repo: ctx.repo,
          defaultBranch,
          checkout: ctx.workspace,
          runsDir: ctx.runsDir,
          provider: provider(),
          config,
          trusted,
          push: pushWith(ctx),
          env: commandEnv,
          secrets,
        });
        if (outcome.status === 'skipped') {
          summary(`The sweep did not run: ${outcome.reason}`);
          return 0;
        }
        summary(
          outcome.pullRequest
            ? `The sweep found ${outcome.newFindings} new findings: ${outcome.pullRequest.url}`
            : 'The sweep found nothing new; no pull request was opened.',
        );
        return outcome.status === 'completed' ? 0 : 1;
      }
      case 'ended': {
        // A step with `if: failure() || cancelled()`: the same notice the app gives from workflow_run
        // (and the same marker, so the two never both comment).
        await onWorkflowRun(port(), {
          conclusion: env.INPUT_CONCLUSION === 'cancelled' ? 'cancelled' : 'failure',
          html_url: `${ctx.serverUrl}/${ctx.owner}/${ctx.repo}/actions/runs/${ctx.runId}`,
          display_title: `dynamic workflows #${issue}`,
          path: `.github/workflows/${config.workflowFile}`,
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
        await onComment(port(), { issue: payload.issue.number, comment: payload.comment });
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
        await onLabel(port(), {
          issue: payload.issue.number,
          label: payload.label.name,
          sender: payload.sender,
          issueTitle: payload.issue.title,
        });
        return 0;
      }
      default:
        throw new ActionError(
          `mode "${mode}" is not supported (plan, run, resume, sweep, ended, or the issue_comment and issues events)`,
        );
    }
  };
  try {
    return await runMode();
  } catch (error) {
    // A failure is never silent: the issue hears what happened (secrets redacted) and how to go on.
    const message = new Redactor(secrets, env).redact((error as Error).message);
    if (issue > 0 && !(error instanceof ActionError)) {
      await octokit.rest.issues.createComment({
        owner: ctx.owner,
        repo: ctx.repo,
        issue_number: issue,
        body: `The ${mode} job failed: ${message}\n\nIts run directory is uploaded as an artifact; reply \`/workflow resume\` to continue a run from its journal.`,
      });
    }
    throw error;
  }
}
