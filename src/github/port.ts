import type { Octokit } from '@octokit/rest';
import type { ThreadComment } from './approval.js';
import type { Authored } from './markers.js';
import type { Role } from './permissions.js';

export type { ThreadComment };

/** A comment fetched by id, with the issue or pull request it was written on (its API address). */
export interface IssueComment extends ThreadComment {
  issueUrl: string;
}

/** An entry of an issue's timeline as the events API lists it (the fields the plan job reads). */
export interface IssueEvent {
  event: string;
  actor: { login: string } | null;
  label?: { name: string };
  rename?: { from: string; to: string };
}

/** A pull request as the list API gives it (the fields the product reads). */
export interface ListedPullRequest extends Authored {
  number: number;
  state: string;
  html_url: string;
  head: { ref: string };
}

/**
 * Every GitHub call the product makes, for one repository: the app's handlers, the app-less commands
 * job, and the action's plan, run, resume, sweep and ended modes. `octokitPort` is the one
 * implementation; tests about something else may hand a fake.
 */
export interface GitHubPort {
  owner: string;
  repo: string;
  /** The branch runs start from and pull requests go to. */
  defaultBranch: string;
  /** The thread of an issue or pull request, oldest first. */
  listComments(issue: number): Promise<ThreadComment[]>;
  /** One comment of this repository's issues and pull requests; undefined when there is none by that id. */
  getComment(commentId: number): Promise<IssueComment | undefined>;
  comment(issue: number, body: string): Promise<{ id: number }>;
  updateComment(commentId: number, body: string): Promise<void>;
  react(commentId: number, content: 'eyes' | '+1' | 'confused'): Promise<void>;
  /** An issue's events (labelled, renamed...), oldest first. */
  listIssueEvents(issue: number): Promise<IssueEvent[]>;
  /** An issue's title as it is now. */
  issueTitle(issue: number): Promise<string>;
  /** The role the API reports for someone now; `none` for someone who is not a collaborator at all. */
  roleOf(login: string): Promise<Role>;
  /** Every pull request of the repository, open or closed. */
  listPullRequests(): Promise<ListedPullRequest[]>;
  /** Opens a pull request from `head` to the default branch. */
  createPullRequest(pull: {
    title: string;
    body: string;
    head: string;
  }): Promise<{ number: number; url: string }>;
  /** Rewrites a pull request's title and body (its branch was pushed further). */
  updatePullRequest(
    number: number,
    pull: { title: string; body: string },
  ): Promise<{ number: number; url: string }>;
  /** Starts the workflow; the run's page when GitHub says which run it started. */
  dispatch(workflowFile: string, inputs: Record<string, string>): Promise<{ runUrl?: string }>;
  /** Runs of the workflow that have not finished: id, run name, page. */
  activeRuns(workflowFile: string): Promise<Array<{ id: number; title: string; url: string }>>;
  cancelRun(actionsRunId: number): Promise<void>;
}

const ROLES = new Set(['read', 'triage', 'write', 'maintain', 'admin']);

const notFound = (error: unknown) => (error as { status?: number }).status === 404;

const threadComment = (c: {
  id: number;
  body?: string | undefined;
  user: { login: string; type: string } | null;
  created_at: string;
  updated_at: string;
}): ThreadComment => ({
  id: c.id,
  body: c.body ?? '',
  user: { login: c.user?.login ?? '', type: c.user?.type ?? 'User' },
  created_at: c.created_at,
  updated_at: c.updated_at,
});

/**
 * The port over an Octokit: the app's installation client (with Probot's retries and throttling),
 * or the action's job token. Each method makes the REST calls its name says, and no others
 * (test/action/workflow-file.test.ts reads them to check the jobs' permissions).
 */
export function octokitPort(
  octokit: Octokit,
  repository: { owner: string; repo: string; defaultBranch: string },
): GitHubPort {
  const { owner, repo, defaultBranch } = repository;
  return {
    owner,
    repo,
    defaultBranch,
    async listComments(issue) {
      const comments = await octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issue,
        per_page: 100,
      });
      return comments.map(threadComment);
    },
    async getComment(commentId) {
      try {
        const { data } = await octokit.rest.issues.getComment({ owner, repo, comment_id: commentId });
        return { ...threadComment(data), issueUrl: data.issue_url };
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    async comment(issue, body) {
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body });
      return { id: data.id };
    },
    async updateComment(commentId, body) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    async react(commentId, content) {
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },
    async listIssueEvents(issue) {
      return (await octokit.paginate(octokit.rest.issues.listEvents, {
        owner,
        repo,
        issue_number: issue,
        per_page: 100,
      })) as IssueEvent[];
    },
    async issueTitle(issue) {
      return (await octokit.rest.issues.get({ owner, repo, issue_number: issue })).data.title;
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
        if (notFound(error)) return 'none';
        throw error;
      }
    },
    async listPullRequests() {
      return octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'all', per_page: 100 });
    },
    async createPullRequest({ title, body, head }) {
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        title,
        body,
        head,
        base: defaultBranch,
      });
      return { number: data.number, url: data.html_url };
    },
    async updatePullRequest(number, { title, body }) {
      const { data } = await octokit.rest.pulls.update({ owner, repo, pull_number: number, title, body });
      return { number: data.number, url: data.html_url };
    },
    async dispatch(workflowFile, inputs) {
      const response = await octokit.request(
        'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
        { owner, repo, workflow_id: workflowFile, ref: defaultBranch, inputs, return_run_details: true },
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
    async cancelRun(actionsRunId) {
      await octokit.rest.actions.cancelWorkflowRun({ owner, repo, run_id: actionsRunId });
    },
  };
}
