import { describe, expect, test } from 'vitest';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { runScript } from '../helpers.js';

const META = `export const meta = { name: 'inner', description: 'spends' };\n`;
const costly = () =>
  createFixtureProvider('inline.json', {
    rules: [{ match: {}, text: 'ok', usage: { input: 100, output: 20 } }],
  });

describe("the run's status comes from the failure's kind, not its text", () => {
  test('a nested workflow stopped by the budget stops the run', async () => {
    const { summary } = await runScript(`return await workflow('inner');`, {
      provider: costly(),
      budget: { tokens: 500 },
      workflows: () => ({
        source: `${META}for (let i = 0; i < 100; i++) await agent('x' + i);`,
        file: 'inner.js',
      }),
    });
    expect(summary.status).toBe('stopped');
    expect(summary.error).toMatch(
      /^plan\.js:2:\d+: Error: workflow "inner" failed: inner\.js:2:\d+: BudgetExhaustedError: agent\(\) refused: token budget exhausted/,
    );
  });

  test('an error that only names the budget error is a failure', async () => {
    const { summary } = await runScript(`throw new Error('BudgetExhaustedError: not really');`);
    expect(summary.status).toBe('failed');
  });

  test('the agent cap is a failure', async () => {
    const { summary } = await runScript(`await agent('a'); await agent('b');`, { maxAgents: 1 });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/agent cap reached: this run may start at most 1 agents/);
  });
});
