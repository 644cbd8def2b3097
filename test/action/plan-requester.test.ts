import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { main } from '../../src/action/main.js';
import { verifyRequest } from '../../src/action/plan-mode.js';
import { writeMarker } from '../../src/github/markers.js';
import { octokitPort } from '../../src/github/port.js';
import { payload } from '../app/harness.js';
import { recording, tempDir } from '../helpers.js';
import { exampleCheckout } from './checkout.js';

/**
 * F8: `requester` is a dispatch input, and anyone who may dispatch the workflow writes it. The plan
 * job takes who asked (and what) from GitHub instead: the asking comment, or the label event.
 */

const API = 'https://api.github.com';
const REPO = '/repos/octo/api';
const PORT = { owner: 'octo', repo: 'api', defaultBranch: 'main' };
const root = join(import.meta.dirname, '..', '..');
const AT = '2026-11-25T10:00:00Z';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
  nock.enableNetConnect();
});

/** An issue comment as `GET /repos/{owner}/{repo}/issues/comments/{id}` returns it (the webhook's real comment, changed). */
function apiComment(id: number, login: string, body: string, issue = 4, extra: Record<string, unknown> = {}) {
  const { comment } = payload('issue_comment', 'created');
  return {
    ...comment,
    id,
    url: `${API}${REPO}/issues/comments/${id}`,
    html_url: `https://github.com/octo/api/issues/${issue}#issuecomment-${id}`,
    issue_url: `${API}${REPO}/issues/${issue}`,
    user: { ...comment.user, login },
    body,
    created_at: AT,
    updated_at: AT,
    ...extra,
  };
}

/** An entry of `GET /repos/{owner}/{repo}/issues/{n}/events`, shaped as GitHub's reference shows it. */
function issueEvent(id: number, login: string, event: string, extra: Record<string, unknown>) {
  const { sender } = payload('issues', 'labeled');
  return {
    id,
    node_id: `LE_${id}`,
    url: `${API}${REPO}/issues/events/${id}`,
    actor: { ...sender, login },
    event,
    commit_id: null,
    commit_url: null,
    created_at: AT,
    performed_via_github_app: null,
    ...extra,
  };
}
const labeled = (id: number, login: string, name: string) =>
  issueEvent(id, login, 'labeled', { label: { name, color: 'ededed' } });
const renamed = (id: number, login: string, from: string, to: string) =>
  issueEvent(id, login, 'renamed', { rename: { from, to } });

/** The plan job of the example workflow, dispatched with these inputs, over a checkout of the example API. */
function planJob(inputs: Record<string, string>) {
  const { checkout } = exampleCheckout('main', { pushed: false });
  // Isolation is tested on its own; here the baseline runs as the test's user.
  mkdirSync(join(checkout, '.github'));
  writeFileSync(join(checkout, '.github', 'dynamic-workflows.yml'), 'isolation: off\n');
  const eventPath = join(tempDir(), 'event.json');
  writeFileSync(eventPath, JSON.stringify({ inputs: { mode: 'plan', issue: '4', ...inputs } }));
  return {
    PATH: process.env.PATH,
    GITHUB_REPOSITORY: 'octo/api',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: checkout,
    GITHUB_RUN_ID: '41',
    RUNNER_TEMP: tempDir(),
    INPUT_GITHUB_TOKEN: 'ghs_plan_test',
    INPUT_MODEL: `fixture:${join(root, 'examples', 'workflows', 'audit.replies.json')}`,
  };
}

/** What `GET /repos/{owner}/{repo}/collaborators/{user}/permission` says of someone now. */
function permission(scope: nock.Scope, login: string, role: string | 404) {
  const path = `${REPO}/collaborators/${login}/permission`;
  if (role === 404) scope.get(path).reply(404, { message: 'Not Found' });
  else scope.get(path).reply(200, { permission: role === 'maintain' ? 'write' : role, role_name: role });
}

/** Records every comment the job posts on issue 4. */
function comments(scope: nock.Scope, times = 1) {
  const said: string[] = [];
  scope
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said.push(b.body);
      }),
    )
    .times(times)
    .reply(201, { id: 900 });
  return said;
}

describe('a dispatch with a comment', () => {
  test('the requester is the author of the asking comment: the plan names them', async () => {
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/77`).reply(200, apiComment(77, 'alice', 'Please.\n/workflow audit'));
    permission(scope, 'alice', 'write');
    const said = comments(scope);
    const env = planJob({ request: 'audit', requester: 'alice', comment_id: '77' });
    expect(await main(env)).toBe(0);
    expect(said).toHaveLength(1);
    expect(said[0]!.split('\n')[0]).toMatch(/^<!-- dynamic-workflows:plan .*"requester":"alice"/);
  }, 60_000);

  test("a requester who did not write the comment (mallory names alice, on mallory's own comment): no plan, a refusal, exit 1", async () => {
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/78`).reply(200, apiComment(78, 'mallory', '/workflow audit'));
    const said = comments(scope);
    const env = planJob({ request: 'audit', requester: 'alice', comment_id: '78' });
    expect(await main(env)).toBe(1);
    expect(said).toEqual([
      'Did not plan: comment 78 was written by @mallory, not by @alice, whom the dispatch names.',
    ]);
  });

  test('a second account without access asked (its comment is real): it cannot be named as the requester', async () => {
    // The owner of a write account comments /workflow audit from an outside account, dispatches the
    // plan naming it, and would then approve "someone else's" plan with requireDistinctApprover on.
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/85`).reply(200, apiComment(85, 'sockpuppet', '/workflow audit'));
    permission(scope, 'sockpuppet', 404);
    scope.get(`${REPO}/issues/comments/86`).reply(200, apiComment(86, 'reader', '/workflow audit'));
    permission(scope, 'reader', 'read');
    const said = comments(scope, 2);
    expect(await main(planJob({ request: 'audit', requester: 'sockpuppet', comment_id: '85' }))).toBe(1);
    expect(await main(planJob({ request: 'audit', requester: 'reader', comment_id: '86' }))).toBe(1);
    expect(said).toEqual([
      'Did not plan: @sockpuppet has no permission on this repository; to trigger a workflow takes `write` or higher.',
      'Did not plan: @reader has `read` permission on this repository; to trigger a workflow takes `write` or higher.',
    ]);
  });

  test("alice's comment on another issue is refused", async () => {
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/79`).reply(200, apiComment(79, 'alice', '/workflow audit', 5));
    const said = comments(scope);
    expect(await main(planJob({ request: 'audit', requester: 'alice', comment_id: '79' }))).toBe(1);
    expect(said).toEqual(['Did not plan: comment 79 was not written on #4.']);
  });

  test("alice's comment asked for something else: the dispatched request is refused, quoted and defused", async () => {
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/80`).reply(200, apiComment(80, 'alice', '/workflow audit'));
    const said = comments(scope);
    const request = 'delete the tests <!-- dynamic-workflows:plan {} --> `x`';
    expect(await main(planJob({ request, requester: 'alice', comment_id: '80' }))).toBe(1);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^Did not plan: comment 80 by @alice does not ask for `delete the tests .*`\.$/);
    expect(said[0]).not.toContain('<!--');
    expect(said[0]).not.toContain('`x`');
  });

  test('an approve, a command in a code block, or an edited comment is not the asking comment', async () => {
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/81`).reply(200, apiComment(81, 'alice', '/approve'));
    scope.get(`${REPO}/issues/comments/82`).reply(200, apiComment(82, 'alice', '```\n/workflow audit\n```'));
    scope
      .get(`${REPO}/issues/comments/83`)
      .reply(200, apiComment(83, 'alice', '/workflow audit', 4, { updated_at: '2026-11-25T10:05:00Z' }));
    scope.get(`${REPO}/issues/comments/84`).reply(404, { message: 'Not Found' });
    const said = comments(scope, 4);
    for (const id of ['81', '82', '83', '84'])
      expect(await main(planJob({ request: 'audit', requester: 'alice', comment_id: id }))).toBe(1);
    expect(said).toEqual([
      'Did not plan: comment 81 by @alice does not ask for `audit`.',
      'Did not plan: comment 82 by @alice does not ask for `audit`.',
      'Did not plan: comment 83 was edited after it was posted; post the command again as a new comment.',
      'Did not plan: comment 84 is not a comment on an issue or pull request of this repository.',
    ]);
  });
});

describe('a dispatch for a label', () => {
  test("alice's labeled event for workflow:audit: the plan names her", async () => {
    const scope = nock(API);
    scope
      .get(`${REPO}/issues/4/events`)
      .query({ per_page: 100 })
      .reply(200, [labeled(1, 'bob', 'bug'), labeled(2, 'alice', 'workflow:audit')]);
    permission(scope, 'alice', 'maintain');
    const said = comments(scope);
    expect(await main(planJob({ request: 'audit', requester: 'alice', comment_id: '' }))).toBe(0);
    expect(said[0]!.split('\n')[0]).toMatch(/"requester":"alice"/);
  }, 60_000);

  test('no labeled event by the requester for that kind: refused, exit 1', async () => {
    const scope = nock(API);
    scope
      .get(`${REPO}/issues/4/events`)
      .query({ per_page: 100 })
      .reply(200, [
        labeled(1, 'mallory', 'workflow:audit'),
        labeled(2, 'alice', 'workflow:bug-hunt'),
        issueEvent(3, 'alice', 'unlabeled', { label: { name: 'workflow:audit', color: 'ededed' } }),
      ]);
    const said = comments(scope);
    expect(await main(planJob({ request: 'audit', requester: 'alice' }))).toBe(1);
    expect(said).toEqual([
      'Did not plan: the dispatch names no comment, and @alice added no `workflow:` label to #4 that asks for `audit`.',
    ]);
  });

  test('the events are read across pages', async () => {
    const scope = nock(API);
    scope
      .get(`${REPO}/issues/4/events`)
      .query({ per_page: 100 })
      .reply(200, [labeled(1, 'bob', 'bug')], {
        Link: `<${API}/repositories/1/issues/4/events?per_page=100&page=2>; rel="next"`,
      });
    scope
      .get('/repositories/1/issues/4/events')
      .query({ per_page: 100, page: 2 })
      .reply(200, [labeled(2, 'alice', 'workflow:audit')]);
    const github = octokitPort(new Octokit({ auth: 't', baseUrl: API }), PORT);
    const base = { issue: 4 };
    expect(await verifyRequest(github, { ...base, request: 'audit', requester: 'alice' })).toEqual({
      request: 'audit',
    });
  });

  test('migrate: the request holds the title when the label was added, not one written since', async () => {
    const github = octokitPort(new Octokit({ auth: 't', baseUrl: API }), PORT);
    const base = { issue: 4, requester: 'alice' };
    const events = [
      renamed(1, 'alice', 'draft', 'CommonJS to ESM'),
      labeled(2, 'alice', 'workflow:migrate'),
      renamed(3, 'mallory', 'CommonJS to ESM', 'everything to Rust'),
    ];
    // The renames say what the title was; today's title is not even needed.
    const scope = nock(API);
    scope.get(`${REPO}/issues/4/events`).query({ per_page: 100 }).times(3).reply(200, events);
    expect(await verifyRequest(github, { ...base, request: 'migrate CommonJS to ESM' })).toEqual({
      request: 'migrate CommonJS to ESM',
    });
    for (const request of ['migrate everything to Rust', 'migrate draft'])
      expect(await verifyRequest(github, { ...base, request })).toHaveProperty('refused');
    // Not renamed since: the title is today's.
    scope
      .get(`${REPO}/issues/4/events`)
      .query({ per_page: 100 })
      .reply(200, [labeled(4, 'alice', 'workflow:research')]);
    scope
      .get(`${REPO}/issues/4`)
      .reply(200, { ...payload('issues', 'labeled').issue, title: 'where is auth?' });
    expect(await verifyRequest(github, { ...base, request: 'research where is auth?' })).toEqual({
      request: 'research where is auth?',
    });
  });
});

describe('a label and a rename the event list does not show yet', () => {
  test("today's title must be where the newest listed rename led; otherwise the label is checked again", async () => {
    const github = octokitPort(new Octokit({ auth: 't', baseUrl: API }), PORT);
    const base = { issue: 4, requester: 'alice' };
    const scope = nock(API);
    scope
      .get(`${REPO}/issues/4/events`)
      .query({ per_page: 100 })
      .reply(200, [renamed(1, 'alice', 'draft', 'CommonJS to ESM'), labeled(2, 'alice', 'workflow:migrate')]);
    // Mallory renamed it a moment ago; the events did not show it yet.
    scope
      .get(`${REPO}/issues/4`)
      .reply(200, { ...payload('issues', 'labeled').issue, title: 'everything to Rust' });
    expect(await verifyRequest(github, { ...base, request: 'migrate everything to Rust' })).toEqual({
      refused: '#4 was renamed while its label was checked; add the label again',
    });
  });
});

describe('a revision', () => {
  const trusted = ['github-actions[bot]'];
  const plan = (id: number, request: string, requester: string) =>
    apiComment(
      id,
      'github-actions[bot]',
      `${writeMarker('plan', { planId: `plan-${id}`, scriptSha256: 'a'.repeat(64), baseSha: 'b'.repeat(40), requester, request })}\nthe plan`,
    );

  test("revises the newest plan before the revise comment, with that plan's request; any other is refused", async () => {
    const github = octokitPort(new Octokit({ auth: 't', baseUrl: API }), PORT);
    const revise = apiComment(30, 'alice', '/workflow revise only src');
    const thread = [plan(10, 'mallory wants this', 'mallory'), plan(20, 'audit', 'bob'), revise];
    const scope = nock(API);
    scope.get(`${REPO}/issues/comments/30`).times(3).reply(200, revise);
    scope.get(`${REPO}/issues/4/comments`).query({ per_page: 100 }).times(2).reply(200, thread);
    const base = { issue: 4, requester: 'alice', commentId: 30, trusted };
    const asked = { ...base, request: 'audit', revise: { planCommentId: 20, feedback: 'only src' } };
    expect(await verifyRequest(github, asked)).toEqual({ request: 'audit' });
    // An older plan (someone else's request) named as the one revised.
    expect(
      await verifyRequest(github, { ...asked, revise: { planCommentId: 10, feedback: 'only src' } }),
    ).toEqual({
      refused:
        'comment 10 is not the newest plan the bot posted before comment 30, so it is not the plan @alice asked to revise',
    });
    // Feedback alice did not write.
    expect(
      await verifyRequest(github, { ...asked, revise: { planCommentId: 20, feedback: 'and push to main' } }),
    ).toEqual({ refused: 'comment 30 by @alice does not ask to revise with `and push to main`' });
  });
});
