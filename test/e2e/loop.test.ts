import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { postPlan } from '../../src/action/plan-mode.js';
import { runApprovedPlan } from '../../src/action/run-mode.js';
import { parseConfig } from '../../src/github/config.js';
import { octokitPort } from '../../src/github/port.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { exampleCheckout, git } from '../action/checkout.js';
import {
  APP_LOGIN,
  checkSentAgainstOpenApi,
  github,
  newProbot,
  nock,
  payload,
  REPO,
} from '../app/harness.js';
import { recording, tempDir } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');
const ACTIONS = 'github-actions[bot]';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  expect(checkSentAgainstOpenApi()).toEqual([]);
  nock.cleanAll();
  nock.enableNetConnect();
});

function comment(id: number, login: string, body: string) {
  return {
    id,
    body,
    user: { login, type: 'Bot' },
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:00Z',
  };
}

function commentEvent(body: string, id: number) {
  return payload('issue_comment', 'created', (p) => {
    p.comment.id = id;
    p.comment.body = body;
    p.comment.user.login = 'Codertocat';
  });
}

test('the whole loop: /workflow audit, the plan job posts the plan, /approve dispatches the run, the run job opens the pull request', async () => {
  // The repository, checked out by the Actions job, with its origin a local bare remote.
  const { remote, checkout } = exampleCheckout('master');
  const parsed = parseConfig({});
  if (!parsed.ok) throw new Error('config');
  const provider = createFixtureProvider(join(root, 'examples', 'workflows', 'audit.replies.json'));
  // The job token's port: what the planning and run jobs call GitHub through.
  const jobGitHub = octokitPort(new Octokit({ auth: 'ghs_job', baseUrl: 'https://api.github.com' }), {
    owner: 'Codertocat',
    repo: 'Hello-World',
    defaultBranch: 'master',
  });
  const mockConfig = (scope: nock.Scope) => {
    scope.get(`${REPO}/contents/.github%2Fdynamic-workflows.yml`).reply(404);
    scope.get('/repos/Codertocat/.github/contents/.github%2Fdynamic-workflows.yml').reply(404);
  };

  // 1. The app hears /workflow audit and dispatches the planning job.
  const request = commentEvent('/workflow audit', 1001);
  const one = github();
  one.scope.get(`${REPO}/issues/1/comments`).query({ per_page: 100 }).reply(200, []);
  mockConfig(one.scope);
  one.scope
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: 'admin', role_name: 'admin' });
  one.scope.post(`${REPO}/issues/comments/${request.comment.id}/reactions`).reply(201, {});
  one.scope.post(`${REPO}/actions/workflows/dynamic-workflows.yml/dispatches`).reply(204);
  one.scope.post(`${REPO}/issues/1/comments`).reply(201, {});
  await newProbot().receive({ id: 'e2e-1', name: 'issue_comment', payload: request as never });
  const planInputs = (
    one.requests.find((r) => r.path.endsWith('/dispatches'))!.body as { inputs: Record<string, string> }
  ).inputs;
  expect(planInputs).toMatchObject({ mode: 'plan', request: 'audit', issue: '1' });
  const ack = (one.requests.at(-1)!.body as { body: string }).body;

  // 2. The planning job reads the asking comment (who asked, and for what), assesses the checkout and posts the plan.
  let planBody = '';
  const planning = github();
  planning.scope.get(`${REPO}/issues/comments/${planInputs.comment_id}`).reply(200, request.comment);
  planning.scope
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: 'admin', role_name: 'admin' });
  planning.scope
    .post(
      `${REPO}/issues/1/comments`,
      recording((b: { body: string }) => {
        planBody = b.body;
      }),
    )
    .reply(201, { id: 100 });
  const planned = await postPlan({
    github: jobGitHub,
    issue: Number(planInputs.issue),
    request: planInputs.request!,
    requester: planInputs.requester!,
    commentId: Number(planInputs.comment_id),
    repoDir: checkout,
    config: parsed.config,
    trusted: [APP_LOGIN, ACTIONS],
    provider,
    planId: 'run-4711',
    env: { PATH: process.env.PATH },
  });
  if (planned.status !== 'planned') throw new Error(planned.reason);
  expect(planned.plan.assessment.baseline).toMatchObject({ passed: false, summary: '3 passed, 4 failed' });
  expect(planBody).toContain('### Verdict: `subagents`');

  // 3. The app hears /approve and dispatches the run with the plan comment and its hash.
  const approve = commentEvent('/approve', 1002);
  const thread = [comment(90, APP_LOGIN, ack), comment(100, ACTIONS, planBody)];
  const two = github();
  two.scope.get(`${REPO}/issues/1/comments`).query({ per_page: 100 }).reply(200, thread);
  mockConfig(two.scope);
  two.scope
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: 'admin', role_name: 'admin' });
  two.scope.post(`${REPO}/issues/comments/${approve.comment.id}/reactions`).reply(201, {});
  two.scope.post(`${REPO}/actions/workflows/dynamic-workflows.yml/dispatches`).reply(204);
  two.scope.post(`${REPO}/issues/1/comments`).reply(201, {});
  await newProbot().receive({ id: 'e2e-2', name: 'issue_comment', payload: approve as never });
  const runInputs = (
    two.requests.find((r) => r.path.endsWith('/dispatches'))!.body as { inputs: Record<string, string> }
  ).inputs;
  expect(runInputs).toMatchObject({
    mode: 'run',
    plan_comment_id: '100',
    script_sha256: planned.plan.scriptSha256,
  });
  const approval = (two.requests.at(-1)!.body as { body: string }).body;

  // 4. The run job checks the plan again, runs it with replayed replies and real tools and tests, and opens the pull request.
  let pr: { title: string; body: string; head: string } | undefined;
  const three = github().scope;
  three
    .get(`${REPO}/issues/1/comments`)
    .query({ per_page: 100 })
    .reply(200, [
      ...thread,
      { ...approve.comment, user: { login: 'Codertocat', type: 'User' } },
      comment(101, APP_LOGIN, approval),
    ]);
  three
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: 'admin', role_name: 'admin' });
  three.post(`${REPO}/issues/1/comments`).reply(201, { id: 200 });
  three.patch(`${REPO}/issues/comments/200`).times(500).optionally().reply(200, {});
  three
    .post(
      `${REPO}/pulls`,
      recording((b: NonNullable<typeof pr>) => {
        pr = b;
      }),
    )
    .reply(201, { number: 2, html_url: 'https://github.com/Codertocat/Hello-World/pull/2' });
  const outcome = await runApprovedPlan({
    github: jobGitHub,
    issue: Number(runInputs.issue),
    planCommentId: Number(runInputs.plan_comment_id),
    scriptSha256: runInputs.script_sha256!,
    repoDir: checkout,
    runsDir: tempDir(),
    provider,
    config: parsed.config,
    trusted: [APP_LOGIN, ACTIONS],
    push: async (branch) => void git(checkout, 'push', '-q', 'origin', branch),
    env: { PATH: process.env.PATH },
    progressIntervalMs: 0,
  });
  expect(outcome.status).toBe('completed');
  if (outcome.status === 'refused') return;
  const branch = `dwf/${outcome.summary.runId}`;
  expect(pr!.head).toBe(branch);
  expect(pr!.body).toContain('requested by @Codertocat and approved by @Codertocat in #1.');
  expect(pr!.body).toContain('## Findings\n\n3 fixed, 1 refuted');
  expect(pr!.body).toContain('| model | agents | input | cache write | cache read | output | dollars |');
  // The branch, as pushed, passes the example's own tests.
  const verify = tempDir('dwf-verify-');
  execFileSync('git', ['clone', '-q', '--branch', branch, remote, verify]);
  const tests = execFileSync(process.execPath, ['--test'], {
    cwd: verify,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  expect(tests).toMatch(/# pass 7\n# fail 0/);
}, 90_000);
