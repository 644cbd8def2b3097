import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ActionError, main } from '../../src/action/main.js';
import { recording, tempDir } from '../helpers.js';

const API = 'https://api.github.com';
const REPO = '/repos/octo/api';
const SHA = 'c'.repeat(64);

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
  nock.enableNetConnect();
});

function environment(event: unknown, files: Record<string, string> = {}) {
  const workspace = tempDir('dwf-ws-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(workspace, path, '..'), { recursive: true });
    writeFileSync(join(workspace, path), content);
  }
  const eventPath = join(tempDir(), 'event.json');
  writeFileSync(eventPath, JSON.stringify(event));
  return {
    PATH: process.env.PATH,
    GITHUB_REPOSITORY: 'octo/api',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: '31',
    INPUT_GITHUB_TOKEN: 'ghs_main_test',
  };
}

test('mode ended: a failed or cancelled job leaves the same notice the app gives, once', async () => {
  const env = {
    ...environment({ inputs: { mode: 'run', issue: '4' } }),
    INPUT_MODE: 'ended',
    INPUT_CONCLUSION: 'cancelled',
  };
  let said = '';
  const scope = nock(API);
  scope.get(`${REPO}/issues/4/comments`).query({ per_page: 100 }).reply(200, []);
  scope
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said = b.body;
      }),
    )
    .reply(201, { id: 1 });
  expect(await main(env)).toBe(0);
  expect(said).toMatch(
    /^The workflow run was cancelled: \[logs\]\(https:\/\/github\.com\/octo\/api\/actions\/runs\/31\)\./,
  );
  expect(said).toContain(
    '<!-- dynamic-workflows:run-ended "https://github.com/octo/api/actions/runs/31" -->',
  );

  nock(API)
    .get(`${REPO}/issues/4/comments`)
    .query({ per_page: 100 })
    .reply(200, [
      {
        id: 1,
        body: said,
        user: { login: 'github-actions[bot]', type: 'Bot' },
        created_at: 't',
        updated_at: 't',
      },
    ]);
  expect(await main(env)).toBe(0);
});

test('an invalid configuration is named on the issue and the job fails; a missing environment is a clear error', async () => {
  const env = environment(
    { inputs: { mode: 'plan', issue: '4', request: 'audit' } },
    { '.github/dynamic-workflows.yml': 'concurrency: 99\n' },
  );
  let said = '';
  nock(API)
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said = b.body;
      }),
    )
    .reply(201, { id: 2 });
  expect(await main(env)).toBe(1);
  expect(said).toMatch(
    /^The configuration in `\.github\/dynamic-workflows\.yml` is not valid, so nothing was done:\n\n- `concurrency`: Too big: expected number to be <=16\n\n<!-- dynamic-workflows:config-problem "[0-9a-f]{16}" -->$/,
  );
  await expect(main({ PATH: process.env.PATH })).rejects.toThrow(ActionError);
  await expect(main({ PATH: process.env.PATH })).rejects.toThrow(
    'GITHUB_REPOSITORY is not set: this runs as a GitHub Action step',
  );
});

test("run mode trusts the configured app's approvals, never an identity a dispatch input names", async () => {
  const planBody = `<!-- dynamic-workflows:plan {"planId":"p","scriptSha256":"${SHA}","baseSha":"${'b'.repeat(40)}","requester":"r","request":"audit"} -->`;
  const approval = `<!-- dynamic-workflows:approval {"planId":"p","scriptSha256":"${SHA}","approver":"mallory","commentId":3} -->`;
  const at = '2026-11-25T10:00:00Z';
  const env = environment(
    { inputs: { mode: 'run', issue: '4', plan_comment_id: '1', script_sha256: SHA, app_login: 'mallory' } },
    { '.github/dynamic-workflows.yml': 'appLogin: our-app[bot]\n' },
  );
  let said = '';
  const scope = nock(API);
  scope
    .get(`${REPO}/issues/4/comments`)
    .query({ per_page: 100 })
    .reply(200, [
      { id: 1, body: planBody, user: { login: 'mallory', type: 'User' }, created_at: at, updated_at: at },
      { id: 2, body: approval, user: { login: 'mallory', type: 'User' }, created_at: at, updated_at: at },
    ]);
  scope
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said = b.body;
      }),
    )
    .reply(201, { id: 5 });
  expect(await main({ ...env, INPUT_ANTHROPIC_API_KEY: 'sk-test-key-123' })).toBe(1);
  // Comments by mallory are not the bot's: there is no plan at all.
  expect(said).toBe(
    'Did not run: there is no plan in this thread to approve; ask for one with `/workflow audit`.',
  );
});

test('without the app, the job answers commands with links on the server it runs on (GITHUB_SERVER_URL)', async () => {
  const env = {
    ...environment({
      comment: {
        id: 77,
        body: '/workflow audit',
        user: { login: 'octocat', type: 'User' },
        created_at: 't',
        updated_at: 't',
      },
      issue: { number: 4 },
      repository: { default_branch: 'main' },
    }),
    GITHUB_EVENT_NAME: 'issue_comment',
    GITHUB_SERVER_URL: 'https://ghe.example.com',
    GITHUB_API_URL: 'https://ghe.example.com/api/v3',
  };
  const ghe = nock('https://ghe.example.com/api/v3');
  ghe.get(`${REPO}/issues/4/comments`).query({ per_page: 100 }).reply(200, []);
  ghe.get(`${REPO}/collaborators/octocat/permission`).reply(200, { permission: 'write', role_name: 'write' });
  ghe.post(`${REPO}/issues/comments/77/reactions`).reply(201, {});
  ghe.post(`${REPO}/actions/workflows/dynamic-workflows.yml/dispatches`).reply(204);
  let said = '';
  ghe
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said = b.body;
      }),
    )
    .reply(201, { id: 5 });
  expect(await main(env)).toBe(0);
  expect(said).toBe(
    'Planning `audit` for @octocat: the assessment, the script and its estimate will be posted here. ' +
      'Follow [the planning run](https://ghe.example.com/octo/api/actions/workflows/dynamic-workflows.yml).\n\n' +
      '<!-- dynamic-workflows:ack 77 -->',
  );
});

test("a dispatch input the schema refuses is one error on the issue, naming the input: the job's failure comment", async () => {
  const env = environment({
    inputs: { mode: 'run', issue: '4', plan_comment_id: '1', script_sha256: '../x' },
  });
  let said = '';
  nock(API)
    .post(
      `${REPO}/issues/4/comments`,
      recording((b: { body: string }) => {
        said = b.body;
      }),
    )
    .reply(201, { id: 5 });
  await expect(main(env)).rejects.toThrow(
    'the dispatch input `script_sha256` is not valid: 64 lowercase hex digits',
  );
  expect(said).toBe(
    'The run job failed: the dispatch input `script_sha256` is not valid: 64 lowercase hex digits\n\n' +
      'Its run directory is uploaded as an artifact; reply `/workflow resume` to continue a run from its journal.',
  );
});

test('a dispatch cannot name a mode the workflow file sets itself (shards, shard, merge, ended)', async () => {
  for (const mode of ['shards', 'shard', 'merge', 'ended']) {
    const env = environment({
      inputs: { mode, issue: '4', plan_comment_id: '1', script_sha256: SHA },
    });
    // Refused before any GitHub call (none is mocked: nock refuses every connection).
    await expect(main(env)).rejects.toThrow(
      `the dispatch input mode "${mode}" is not a dispatch mode (plan, run, resume, sharded, sweep)`,
    );
  }
});
