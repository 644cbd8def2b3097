import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Octokit } from '@octokit/rest';
import type { ApplicationFunctionOptions, Context, Probot } from 'probot';
import { type CommandPort, onComment, onLabel, onWorkflowRun } from '../github/handlers.js';
import { octokitPort } from '../github/port.js';

type RepoContext = Context<'issue_comment.created' | 'issues.labeled' | 'workflow_run.completed'>;

/** The installation's Octokit (with Probot's retries and throttling) behind the handlers' port. */
function portFor(context: RepoContext, appLogin: () => Promise<string>): CommandPort {
  const { owner, repo } = context.repo();
  return {
    ...octokitPort(context.octokit as unknown as Octokit, {
      owner,
      repo,
      defaultBranch: context.payload.repository.default_branch,
    }),
    // GitHub Enterprise Server included: links go where the repository lives.
    repoUrl: context.payload.repository.html_url,
    trustedAuthors: async () => [await appLogin(), 'github-actions[bot]'],
    readConfig: () => context.config('dynamic-workflows.yml'),
  };
}

/**
 * The container's health check: the server is up and has loaded the app. It asks GitHub nothing,
 * so an outage or a rate limit there does not get a healthy container restarted.
 */
export function healthCheck(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url?.split('?')[0] !== '/healthz') return false;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
  return true;
}

/** The Probot app: thin. It parses commands, checks who may act, binds approvals, and dispatches the runner. */
export default function app(probot: Probot, options?: Partial<ApplicationFunctionOptions>): void {
  try {
    options?.addHandler?.(healthCheck);
  } catch {
    // Loaded without a server (probot.load in tests, a serverless adapter): no routes to serve.
  }
  let login: Promise<string> | undefined;
  const appLogin = () => {
    login ??= probot
      .auth()
      .then((octokit) => octokit.rest.apps.getAuthenticated())
      .then(({ data }) => `${data?.slug ?? 'dynamic-workflows'}[bot]`);
    return login;
  };

  probot.on('issue_comment.created', async (context) => {
    const { comment, issue } = context.payload;
    await onComment(portFor(context, appLogin), {
      issue: issue.number,
      comment: {
        id: comment.id,
        body: comment.body,
        user: { login: comment.user?.login ?? '', type: comment.user?.type ?? 'User' },
        created_at: comment.created_at,
        updated_at: comment.updated_at,
      },
    });
  });

  probot.on('issues.labeled', async (context) => {
    const { issue, label, sender } = context.payload;
    if (!label) return;
    await onLabel(portFor(context, appLogin), {
      issue: issue.number,
      label: label.name,
      sender: { login: sender.login, type: sender.type },
      issueTitle: issue.title,
    });
  });

  probot.on('workflow_run.completed', async (context) => {
    const run = context.payload.workflow_run;
    await onWorkflowRun(portFor(context, appLogin), {
      conclusion: run.conclusion,
      html_url: run.html_url,
      display_title: (run as { display_title?: string }).display_title ?? run.name ?? '',
      path: (run as { path?: string }).path ?? '',
    });
  });
}
