import { expect, test } from 'vitest';
import { createPlan } from '../../src/plan/plan.js';
import { gitRepoWith } from '../helpers.js';

/**
 * The budget a sharded plan gives each shard, with no budget configured: derived from the whole
 * run's estimate, which the dry run stops at the agent cap, then divided by the count.
 */
test('each shard’s derived budget covers that shard’s own estimate (a 200-file audit, --max-shards 8)', async () => {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({
      name: 'big',
      private: true,
      type: 'module',
      scripts: { test: 'node --test' },
    }),
    'test/a.test.js': "import { test } from 'node:test';\ntest('a', () => {});\n",
  };
  for (let i = 0; i < 200; i++)
    files[`src/m${i}.js`] = `export function f${i}(x) {\n  return x + ${i};\n}\n`.repeat(5);
  const repo = gitRepoWith(files);
  const plan = await createPlan({
    repoDir: repo,
    request: 'audit',
    model: 'claude-sonnet-5-5',
    maxShards: 8,
  });
  const shards = plan.shards!;
  const summary = {
    count: shards.count,
    wholeRunAgentsMax: plan.estimate!.agents.max,
    wholeRunUsdMax: plan.estimate!.usd?.max,
    budget: plan.estimate!.budget,
    budgetEach: shards.budgetEach,
    eachAgentsMax: shards.estimateEach?.agents.max,
    eachUsdMax: shards.estimateEach?.usd?.max,
  };
  // The whole run's estimate stops at the 1000-agent cap: a budget derived from it and divided by
  // the count was below what one shard's own dry run needs (4 shards: $2.66 each against up to
  // $3.43), so every shard would stop before its slice is done. Derived from one shard's estimate:
  expect(summary.budgetEach.usd ?? 0).toBeGreaterThanOrEqual(summary.eachUsdMax ?? 0);
  expect(summary.budget).toMatchObject({ source: 'estimate' });
  expect(summary.budgetEach.usd).toBe(Math.floor((summary.budget!.usd! / summary.count) * 100) / 100);
}, 300_000);
