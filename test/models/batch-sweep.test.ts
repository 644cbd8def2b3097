import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import nock from 'nock';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { runSweep } from '../../src/action/sweep-mode.js';
import { parseConfig } from '../../src/github/config.js';
import { octokitPort } from '../../src/github/port.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import type { ModelProvider } from '../../src/models/types.js';
import { exampleCheckout, git } from '../action/checkout.js';
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
