import type { Octokit } from '@octokit/rest';
import type { GitHubPort, ThreadComment } from '../app/handlers.js';
import type { Role } from './permissions.js';

const ROLES = new Set(['read', 'triage', 'write', 'maintain', 'admin']);

export async function listThread(
  octokit: Octokit,
  owner: string,
  repo: string,
  issue: number,
): Promise<ThreadComment[]> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: issue,
    per_page: 100,
  });
  return comments.map((c) => ({
    id: c.id,
    body: c.body ?? '',
    user: { login: c.user?.login ?? '', type: c.user?.type ?? 'User' },
    created_at: c.created_at,
    updated_at: c.updated_at,
  }));
}

/** The role the API reports for someone now; `none` for someone who is not a collaborator at all. */
export async function roleOf(octokit: Octokit, owner: string, repo: string, login: string): Promise<Role> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner,
      repo,
      username: login,
    });
    const role = (data as { role_name?: string }).role_name ?? data.permission;
    return (ROLES.has(role) ? role : 'none') as Role;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return 'none';
    throw error;
  }
}

/** The handlers' GitHub calls over an Octokit: the App's installation client, or the Action's job token. */
export function octokitPort(
  octokit: Octokit,
  repository: {
    owner: string;
    repo: string;
    defaultBranch: string;
    /** The repository's web page: `repository.html_url` in the app, `GITHUB_SERVER_URL/owner/repo` in the action. */
    repoUrl: string;
    trustedAuthors: () => Promise<string[]>;
    readConfig: () => Promise<unknown>;
  },
): GitHubPort {
  const { owner, repo } = repository;
  return {
    owner,
    repo,
    defaultBranch: repository.defaultBranch,
    repoUrl: repository.repoUrl,
    trustedAuthors: repository.trustedAuthors,
    readConfig: repository.readConfig,
    listComments: (issue) => listThread(octokit, owner, repo, issue),
    roleOf: (login) => roleOf(octokit, owner, repo, login),
    async comment(issue, body) {
      await octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body });
    },
    async react(commentId, content) {
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },
    async dispatch(workflowFile, inputs) {
      const response = await octokit.request(
        'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
        {
          owner,
          repo,
          workflow_id: workflowFile,
          ref: repository.defaultBranch,
          inputs,
          return_run_details: true,
        },
      );
      const details = response.data as { html_url?: string } | undefined;
      return details?.html_url ? { runUrl: details.html_url } : {};
    },
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
