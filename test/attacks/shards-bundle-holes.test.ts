import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runMarker } from '../../src/github/approval.js';
import { approvalMarker, renderPlanComment } from '../../src/github/plan-comment.js';
import { createPlan } from '../../src/plan/plan.js';
import { exampleCheckout, git } from '../action/checkout.js';
import { serve } from '../action/stand-ins.js';
import { tempDir } from '../helpers.js';

/**
 * Through the real door: the action bundle's `shards` job of a resume, dispatched with the
 * resume_actions_run_id of another Actions run than the one the bot recorded for the plan.
 */

const root = join(import.meta.dirname, '..', '..');
const BOT = 'github-actions[bot]';
const at = '2026-11-26T10:00:00Z';
let bundle: string;
const servers: Array<{ close(): void }> = [];

beforeAll(() => {
  const out = tempDir('dwf-attack-bundle-');
  execFileSync(process.execPath, [join(root, 'scripts', 'build-action.mjs'), out]);
  bundle = join(out, 'index.mjs');
}, 120_000);
afterAll(() => {
  for (const s of servers.splice(0)) s.close();
});

test('the shards job of a resume refuses artifacts of an Actions run the thread does not name', async () => {
  const { checkout } = exampleCheckout();
  const plan = await createPlan({
    repoDir: checkout,
    request: 'audit',
    model: 'claude-sonnet-5-5',
    maxShards: 3,
    shardTargetMinutes: 0.001,
  });
  const sha = plan.scriptSha256!;
  const user = (login: string) => ({ login, type: login.endsWith('[bot]') ? 'Bot' : 'User' });
  const thread = [
    {
      id: 100,
      body: renderPlanComment(plan, {
        planId: 'plan-1',
        baseSha: git(checkout, 'rev-parse', 'HEAD'),
        requester: 'octocat',
      }),
      user: user(BOT),
    },
    { id: 50, body: '/approve', user: user('maintainer') },
    {
      id: 101,
      body: `Approved\n\n${approvalMarker({ planId: 'plan-1', scriptSha256: sha, approver: 'maintainer', commentId: 50 })}`,
      user: user(BOT),
    },
    // The bot's record: the plan's sharded run was Actions run 77.
    {
      id: 300,
      body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-000000', actionsRunId: '77' })}`,
      user: user(BOT),
    },
  ];
  let next = 500;
  const api = await serve(({ method, url, body }) => {
    if (method === 'GET' && url.startsWith('/repos/octo/shop/issues/1/comments'))
      return [200, thread.map((c) => ({ ...c, created_at: at, updated_at: at }))];
    if (method === 'GET' && url === '/repos/octo/shop/collaborators/maintainer/permission')
      return [200, { permission: 'write', role_name: 'maintain' }];
    if (method === 'POST' && url === '/repos/octo/shop/issues/1/comments') {
      const id = next++;
      thread.push({ id, body: (body as { body: string }).body, user: user(BOT) });
      return [201, { id }];
    }
    return [404, { message: `not mocked: ${method} ${url}` }];
  });
  servers.push(api.server);
  // What the workflow downloaded for resume_actions_run_id 99999: "completed" shards 0 and 1.
  const runnerTemp = tempDir();
  const runs = join(runnerTemp, 'dynamic-workflows-runs');
  for (const [i, id] of ['20261126-080000-aaaaaa', '20261126-080000-bbbbbb'].entries()) {
    mkdirSync(join(runs, id), { recursive: true });
    writeFileSync(
      join(runs, id, 'result.json'),
      JSON.stringify({ status: 'completed', shard: { index: i, count: 3 } }),
    );
  }
  const eventPath = join(runnerTemp, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({
      inputs: {
        mode: 'sharded',
        issue: '1',
        plan_comment_id: '100',
        script_sha256: sha,
        resume_actions_run_id: '99999',
      },
      repository: { default_branch: 'main' },
    }),
  );
  const output = join(runnerTemp, 'output');
  writeFileSync(output, '');
  const child = spawn(process.execPath, [bundle], {
    env: {
      PATH: process.env.PATH,
      GITHUB_REPOSITORY: 'octo/shop',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_WORKSPACE: checkout,
      GITHUB_API_URL: api.url,
      GITHUB_SERVER_URL: api.url,
      GITHUB_RUN_ID: '100001',
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: runnerTemp,
      INPUT_MODE: 'shards',
      INPUT_GITHUB_TOKEN: 'ghs_runner_token_0123',
    },
  });
  let printed = '';
  child.stdout.on('data', (c) => {
    printed += c;
  });
  child.stderr.on('data', (c) => {
    printed += c;
  });
  const ran = { status: await new Promise<number | null>((resolve) => child.on('exit', resolve)) };
  // Were it taken, shards 0 and 1 would pass as done from run 99999's artifacts (`matrix=[2]`).
  expect({
    code: ran.status,
    outputs: readFileSync(output, 'utf8'),
    printed: printed.slice(-500),
  }).toMatchObject({
    code: 1,
  });
}, 180_000);
