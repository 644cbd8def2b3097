import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import nock from 'nock';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { runSweep } from '../../src/action/sweep-mode.js';
import { listRuns } from '../../src/engine/run-record.js';
import { parseConfig } from '../../src/github/config.js';
import { octokitPort } from '../../src/github/port.js';
import { createAnthropicProvider } from '../../src/models/anthropic.js';
import { createBatchingProvider } from '../../src/models/batch.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import type { ModelProvider } from '../../src/models/types.js';
import { exampleCheckout, git } from '../action/checkout.js';
import { startDiligentServer } from '../cost/server.js';
import { tempDir } from '../helpers.js';

// The scheduled sweep with `sweep.batch: true` asks its provider for the Message Batches variant
// (batch.ts; its requests are tested in batch.test.ts) and sends every request through it.

const root = join(import.meta.dirname, '..', '..');
const API = 'https://api.github.com';
const REPO = '/repos/octo/example-api';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function counted(provider: ModelProvider, calls: { n: number }): ModelProvider {
  return {
    ...provider,
    complete: (request, observer) => {
      calls.n++;
      return provider.complete(request, observer);
    },
  };
}

for (const batch of [true, false]) {
  test(`sweep.batch: ${batch} ${batch ? 'sends the sweep through the Batches provider' : 'keeps the ordinary one'}`, async () => {
    const { checkout } = exampleCheckout('main', { pushed: false });
    const parsed = parseConfig({ sweep: { budget: { tokens: 2_000_000 }, batch } });
    if (!parsed.ok) throw new Error('config');
    const fixture = () => createFixtureProvider(join(root, 'examples', 'workflows', 'audit.replies.json'));
    const ordinary = { n: 0 };
    const batched = { n: 0 };
    const provider: ModelProvider = {
      ...counted(fixture(), ordinary),
      withBatches: () => counted(fixture(), batched),
    };
    nock(API).get(`${REPO}/pulls`).query({ state: 'all', per_page: 100 }).reply(200, []);
    nock(API)
      .post(`${REPO}/pulls`)
      .reply(201, { number: 1, html_url: 'https://github.com/octo/example-api/pull/1' });
    const outcome = await runSweep({
      github: octokitPort(new Octokit({ auth: 'ghs_sweep', baseUrl: API }), {
        owner: 'octo',
        repo: 'example-api',
        defaultBranch: 'main',
      }),
      repoDir: checkout,
      runsDir: tempDir(),
      provider,
      config: parsed.config,
      trusted: ['github-actions[bot]'],
      push: async (branch: string) => void git(checkout, 'push', '-q', 'origin', branch),
      env: { PATH: process.env.PATH },
    });
    expect(outcome.status).toBe('completed');
    expect(batch ? batched.n : ordinary.n).toBeGreaterThan(0);
    expect(batch ? ordinary.n : batched.n).toBe(0);
  });
}

test('a batched sweep that outlived its job: the next job goes on from its journal and collects its recorded batches', async () => {
  nock.enableNetConnect('127.0.0.1');
  const server = await startDiligentServer({ latencyMs: 0 });
  try {
    const parsed = parseConfig({ sweep: { budget: { usd: 50 }, batch: true } });
    if (!parsed.ok) throw new Error('config');
    const options = { model: 'claude-sonnet-5-5', apiKey: 'test-key', baseURL: server.url };
    const provider: ModelProvider = {
      ...createAnthropicProvider(options),
      withBatches: (recording) =>
        createBatchingProvider({ ...options, batch: { windowMs: 20, sleep: async () => {}, ...recording } }),
    };
    const runsDir = tempDir();
    const sweep = async () => {
      const { checkout } = exampleCheckout('main', { pushed: false });
      nock(API).get(`${REPO}/pulls`).query({ state: 'all', per_page: 100 }).reply(200, []);
      nock(API)
        .post(`${REPO}/pulls`)
        .reply(201, { number: 1, html_url: 'https://github.com/octo/example-api/pull/1' });
      return runSweep({
        github: octokitPort(new Octokit({ auth: 'ghs_sweep', baseUrl: API }), {
          owner: 'octo',
          repo: 'example-api',
          defaultBranch: 'main',
        }),
        repoDir: checkout,
        runsDir,
        provider,
        config: parsed.config,
        trusted: ['github-actions[bot]'],
        push: async (branch: string) => void git(checkout, 'push', '-q', 'origin', branch),
        env: { PATH: process.env.PATH },
      });
    };
    const first = await sweep();
    expect(first.status).toBe('completed');
    const log = readFileSync(join(runsDir, 'batches.jsonl'), 'utf8').trim().split('\n');
    expect(log.length).toBe(server.batches.created.length);
    // The job ends before the run does: no result, and the journal holds the first agents only.
    const [run] = listRuns(runsDir);
    const journal = join(run!.dir, 'journal.jsonl');
    const kept = readFileSync(journal, 'utf8').split('\n').slice(0, 3);
    writeFileSync(journal, `${kept.join('\n')}\n`);
    for (const file of ['result.json', 'usage.json']) rmSync(join(run!.dir, file));
    expect(listRuns(runsDir)[0]!.status).toBe('unfinished');
    const created = server.batches.created.length;
    const served = server.batches.resultsServed;

    const second = await sweep();
    expect(second.status).toBe('completed');
    const resumed = listRuns(runsDir)[0]!;
    expect(resumed.runId).not.toBe(run!.runId);
    expect(resumed.replayedAgents).toBeGreaterThan(0);
    // The agents that ran again asked what they had asked before: their answers came from the
    // recorded batches' results, not from new batches.
    expect(server.batches.resultsServed).toBeGreaterThan(served);
    console.log(
      `resumed sweep: ${resumed.replayedAgents} agents replayed; ${created} batches first, ${server.batches.created.length - created} new on the resume, ` +
        `${server.batches.resultsServed - served} recorded batches read`,
    );
    expect(server.batches.created.length).toBe(created);
  } finally {
    await server.close();
  }
}, 120_000);
