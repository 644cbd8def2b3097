import { parseConfig } from '../../src/github/config.js';
import { approvalMarker, renderPlanComment } from '../../src/github/plan-comment.js';
import type { GitHubPort } from '../../src/github/port.js';
import { createPlan } from '../../src/plan/plan.js';
import { exampleCheckout, git } from './checkout.js';

/** What the sharded modes' tests share: the bot, a thread in memory, and an approved plan of the example API. */

export const BOT = 'github-actions[bot]';
const at = '2026-11-26T10:00:00Z';
export type Row = { id: number; body: string; login: string };

/** The default configuration. */
export function config() {
  const parsed = parseConfig({});
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

/**
 * A thread in memory behind the port's calls the sharded modes make; what they post and edit is
 * kept. `maintainer` may approve, everyone else reads; `active` are the workflow's runs not ended.
 */
export function fakeGitHub(thread: Row[], active: number[] = []) {
  const posted: string[] = [];
  const edited: Array<{ id: number; body: string }> = [];
  const github = {
    owner: 'octo',
    repo: 'shop',
    defaultBranch: 'main',
    listComments: async () =>
      thread.map((c) => ({
        id: c.id,
        body: c.body,
        user: { login: c.login, type: c.login.endsWith('[bot]') ? 'Bot' : 'User' },
        created_at: at,
        updated_at: at,
      })),
    roleOf: async (login: string) => (login === 'maintainer' ? ('maintain' as const) : ('read' as const)),
    comment: async (_issue: number, body: string) => {
      posted.push(body);
      thread.push({ id: 900 + posted.length, body, login: BOT });
      return { id: 900 + posted.length };
    },
    updateComment: async (id: number, body: string) => {
      edited.push({ id, body });
    },
    activeRuns: async () =>
      active.map((id) => ({
        id,
        title: 'dynamic workflows #7 sharded',
        url: `https://github.com/octo/shop/actions/runs/${id}`,
      })),
  } as unknown as GitHubPort;
  return { github, posted, edited };
}

/** What every job of a sharded run checks first: the approved plan (comment 100, script `sha`) over `github`. */
export function approvalOf(github: GitHubPort, sha: string) {
  return { github, issue: 7, planCommentId: 100, scriptSha256: sha, config: config(), trusted: [BOT] };
}

/** The example API's audit plan, sharded in 3 (or not), approved by a maintainer: comments 100, 50 and 101. */
export async function approvedPlan(shards = true) {
  const { checkout } = exampleCheckout();
  const plan = await createPlan({
    repoDir: checkout,
    request: 'audit',
    model: 'claude-sonnet-5-5',
    ...(shards ? { maxShards: 3, shardTargetMinutes: 0.001 } : {}),
  });
  const sha = plan.scriptSha256!;
  const thread: Row[] = [
    {
      id: 100,
      body: renderPlanComment(plan, {
        planId: 'plan-1',
        baseSha: git(checkout, 'rev-parse', 'HEAD'),
        requester: 'octocat',
      }),
      login: BOT,
    },
    { id: 50, body: '/approve', login: 'maintainer' },
    {
      id: 101,
      body: `Approved\n\n${approvalMarker({ planId: 'plan-1', scriptSha256: sha, approver: 'maintainer', commentId: 50 })}`,
      login: BOT,
    },
  ];
  return { checkout, plan, sha, thread };
}
