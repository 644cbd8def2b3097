import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { approvalMarker, planMarker, sha256 } from '../../src/github/plan-comment.js';
import { API, APP_LOGIN, comment, github, newProbot, nock, payload, REPO } from './harness.js';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
  nock.enableNetConnect();
});

const SCRIPT = "export const meta = { name: 'audit', description: 'd' };\nreturn 1;\n";

function planBody(planId: string, script = SCRIPT, recordedSha = sha256(SCRIPT)) {
  return `${planMarker({ planId, scriptSha256: recordedSha, baseSha: 'abc123', requester: 'Codertocat', request: 'audit', estimate: { agents: { min: 3, max: 9 }, usd: { min: 0.5, max: 2 } } })}\n## Plan: audit\n\n\`\`\`js\n${script.trimEnd()}\n\`\`\`\n\nReply \`/approve\` to run it.`;
}

function commentEvent(body: string, login = 'Codertocat', type = 'User') {
  return payload('issue_comment', 'created', (p) => {
    p.comment.body = body;
    p.comment.user.login = login;
    p.comment.user.type = type;
    p.sender.login = login;
  });
}

function mockThread(scope: nock.Scope, thread: unknown[]) {
  scope.get(`${REPO}/issues/1/comments`).query({ per_page: 100 }).reply(200, thread);
}

function mockNoConfig(scope: nock.Scope) {
  scope.get(`${REPO}/contents/.github%2Fdynamic-workflows.yml`).reply(404);
  scope.get('/repos/Codertocat/.github/contents/.github%2Fdynamic-workflows.yml').reply(404);
}

function mockRole(scope: nock.Scope, login: string, role: string | null) {
  const route = scope.get(`${REPO}/collaborators/${login}/permission`);
  if (role === null) route.reply(404, { message: 'Not Found' });
  else
    route.reply(200, {
      permission: role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role,
      role_name: role,
    });
}

describe('/workflow KIND', () => {
  test('acknowledges at once and dispatches the planning job', async () => {
    const { scope, requests } = github();
    mockThread(scope, []);
    mockNoConfig(scope);
    mockRole(scope, 'Codertocat', 'write');
    const event = commentEvent('Could you look at this?\n/workflow audit\nthanks');
    scope.post(`${REPO}/issues/comments/${event.comment.id}/reactions`).reply(201, {});
    scope.post(`${REPO}/actions/workflows/dynamic-workflows.yml/dispatches`).reply(204);
    scope.post(`${REPO}/issues/1/comments`).reply(201, {});
    await newProbot().receive({ id: '1', name: 'issue_comment', payload: event as never });
    const writes = requests.filter((r) => r.method !== 'GET');
    expect(writes).toEqual([
      {
        method: 'POST',
        path: `${REPO}/issues/comments/${event.comment.id}/reactions`,
        body: { content: 'eyes' },
      },
      {
        method: 'POST',
        path: `${REPO}/actions/workflows/dynamic-workflows.yml/dispatches`,
        body: {
          ref: 'master',
          inputs: {
            mode: 'plan',
            issue: '1',
            request: 'audit',
            requester: 'Codertocat',
            comment_id: String(event.comment.id),
          },
        },
      },
      {
        method: 'POST',
        path: `${REPO}/issues/1/comments`,
        body: {
          body: `Planning \`audit\` for @Codertocat: the assessment, the script and its estimate will be posted here. Follow the planning run in [Actions](https://github.com/Codertocat/Hello-World/actions/workflows/dynamic-workflows.yml).\n\n<!-- dynamic-workflows:ack ${event.comment.id} -->`,
        },
      },
    ]);
  });

  test('a redelivered webhook does nothing twice', async () => {
    const event = commentEvent('/workflow audit');
    const { scope, requests } = github();
    mockThread(scope, [
      comment(9, APP_LOGIN, `Planning...\n\n<!-- dynamic-workflows:ack ${event.comment.id} -->`),
    ]);
    await newProbot().receive({ id: '2', name: 'issue_comment', payload: event as never });
    expect(requests.map((r) => r.method)).toEqual(['GET']);
  });

  test('a malformed command gets the help text with what was wrong', async () => {
    const { scope, requests } = github();
    mockThread(scope, []);
    mockNoConfig(scope);
    scope.post(`${REPO}/issues/1/comments`).reply(201, {});
    await newProbot().receive({
      id: '3',
      name: 'issue_comment',
      payload: commentEvent('/workflow migrate') as never,
    });
    const body = (requests.pop()!.body as { body: string }).body;
    expect(body).toMatch(
      /^`\/workflow migrate` needs a target, e.g. `\/workflow migrate CommonJS to ESM`\.\n\n\*\*Dynamic Workflows\*\*/,
    );
  });

  test('comments without a command, and the bot itself, are ignored without a request', async () => {
    const { requests } = github();
    await newProbot().receive({
      id: '4',
      name: 'issue_comment',
      payload: commentEvent('just chatting about /workflow') as never,
    });
    await newProbot().receive({
      id: '5',
      name: 'issue_comment',
      payload: commentEvent('/workflow audit', APP_LOGIN, 'Bot') as never,
    });
    expect(requests).toEqual([]);
  });

  test('an invalid configuration gets one comment naming each bad field, once', async () => {
    const yaml = 'concurrency: 40\napprovers:\n  permission: owner\ncolour: blue\n';
    const deliver = async (id: string, thread: unknown[], expectComment: boolean) => {
      const { scope, requests } = github();
      mockThread(scope, thread);
      scope
        .get(`${REPO}/contents/.github%2Fdynamic-workflows.yml`)
        .reply(200, yaml, { 'content-type': 'application/vnd.github.v3.raw; charset=utf-8' });
      if (expectComment) scope.post(`${REPO}/issues/1/comments`).reply(201, {});
      await newProbot().receive({
        id,
        name: 'issue_comment',
        payload: commentEvent('/workflow audit') as never,
      });
      return requests.filter((r) => r.method === 'POST').map((r) => (r.body as { body: string }).body);
    };
    const [body] = await deliver('6', [], true);
    expect(body).toMatch(
      /^The configuration in `\.github\/dynamic-workflows\.yml` is not valid, so nothing was done:\n\n- `concurrency`: Too big: expected number to be <=16\n- `approvers\.permission`: Invalid option: expected one of "read"\|"triage"\|"write"\|"maintain"\|"admin"\n- `\(the file\)`: Unrecognized key: "colour"\n\n<!-- dynamic-workflows:config-problem [0-9a-f]{16} -->$/,
    );
    // Asked again with the same broken file: the comment is already there.
    expect(await deliver('7', [comment(5, APP_LOGIN, body!)], false)).toEqual([]);
  });
});
