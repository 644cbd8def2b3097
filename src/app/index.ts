import type { Context, Probot } from 'probot';
import type { Role } from '../github/permissions.js';
import { type GitHubPort, onComment, onLabel, onWorkflowRun, type ThreadComment } from './handlers.js';

type RepoContext = Context<'issue_comment.created' | 'issues.labeled' | 'workflow_run.completed'>;

const ROLES = new Set(['read', 'triage', 'write', 'maintain', 'admin']);

/** The GitHub calls the handlers make, through the installation's Octokit (with Probot's retries and throttling). */
function portFor(context: RepoContext, appLogin: () => Promise<string>): GitHubPort {
  const { owner, repo } = context.repo();
  const octokit = context.octokit;
  return {
    owner,
    repo,
    defaultBranch: context.payload.repository.default_branch,
    trustedAuthors: async () => [await appLogin(), 'github-actions[bot]'],
    async listComments(issue) {
      const comments = await octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issue,
        per_page: 100,
      });
      return comments.map(
        (c): ThreadComment => ({
          id: c.id,
          body: c.body ?? '',
          user: { login: c.user?.login ?? '', type: c.user?.type ?? 'User' },
          created_at: c.created_at,
          updated_at: c.updated_at,
        }),
      );
    },
    async comment(issue, body) {
      await octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body });
    },
    async react(commentId, content) {
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },
    async roleOf(login) {
      try {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
          owner,
          repo,
          username: login,
        });
        const role = (data as { role_name?: string }).role_name ?? data.permission;
        return (ROLES.has(role) ? role : 'none') as Role;
      } catch (error) {
        // Someone who is not a collaborator at all: 404.
        if ((error as { status?: number }).status === 404) return 'none';
        throw error;
      }
    },
    async dispatch(workflowFile, inputs) {
      const response = await octokit.request(
        'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
        {
          owner,
          repo,
          workflow_id: workflowFile,
          ref: context.payload.repository.default_branch,
          inputs,
          return_run_details: true,
        },
      );
      const details = response.data as { html_url?: string } | undefined;
      return details?.html_url ? { runUrl: details.html_url } : {};
    },
    readConfig: () => context.config('dynamic-workflows.yml'),
    async activeRuns(workflowFile) {
      const runs = [];
      for (const status of ['in_progress', 'queued'] as const) {
        const { data } = await octokit.rest.actions.listWorkflowRuns({
          owner,
          repo,
          workflow_id: workflowFile,
          status,
          per_page: 100,
        });
        runs.push(...data.workflow_runs);
      }
      return runs.map((r) => ({ id: r.id, title: r.display_title, url: r.html_url }));
    },
    async cancelRun(runId) {
      await octokit.rest.actions.cancelWorkflowRun({ owner, repo, run_id: runId });
    },
  };
}

/** The Probot app: thin. It parses commands, checks who may act, binds approvals, and dispatches the runner. */
export default function app(probot: Probot): void {
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
