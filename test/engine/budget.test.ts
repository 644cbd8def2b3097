import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { createFixtureProvider, type FixtureRule } from '../../src/models/fixture.js';
import { type ModelProvider, textReply } from '../../src/models/types.js';
import { readJson, runScript } from '../helpers.js';

describe('a token budget', () => {
  test('is never overshot by more than the agents in flight when it was reached', async () => {
    // 100 tokens an agent, latencies that vary, 8 at once: the budget is crossed mid-flight.
    const rules: FixtureRule[] = Array.from({ length: 10 }, (_, i) => ({
      match: { label: `${i}$` },
      text: 'ok',
      usage: { input: 80, output: 20 },
      latencyMs: 3 + ((i * 3) % 10) * 2,
    }));
    const { summary, logged } = await runScript(
      `const out = await parallel(Array.from({ length: 200 }, (_, i) => () => agent('task ' + i, { label: 'task ' + i })));
       return out.filter((x) => x !== null).length;`,
      { provider: createFixtureProvider('b.json', { rules }), concurrency: 8, budget: { tokens: 1000 } },
    );
    const exhaustedAt = logged.findIndex((e) => e.type === 'budget.exhausted');
    expect(exhaustedAt).toBeGreaterThan(0);
    const running = new Set<number>();
    for (const e of logged.slice(0, exhaustedAt)) {
      if (e.type === 'agent.started') running.add(e.index);
      if (e.type === 'agent.finished') running.delete(e.index);
    }
    const spent = readJson<{ budget: { spentTokens: number } }>(`${summary.runDir}/result.json`).budget
      .spentTokens;
    expect(spent).toBeGreaterThanOrEqual(1000);
    expect(spent).toBeLessThanOrEqual(1000 + running.size * 100);
    expect(summary.usage.inputTokens + summary.usage.outputTokens).toBe(spent);
    // Agents still queued when the budget ran out never started.
    const started = logged.filter((e) => e.type === 'agent.started').length;
    expect(started).toBe(spent / 100);
    expect(summary.result).toBe(started);
  });

  test('stops an agent between model calls once the budget is spent', async () => {
    let calls = 0;
    const stubborn: ModelProvider = {
      id: 'stubborn',
      defaultModel: 'stubborn',
      modelFor: (m) => m,
      structuredOutput: 'native',
      async complete() {
        calls++;
        return textReply(
          '{}',
          { inputTokens: 100, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
          'stubborn',
        );
      },
    };
    const { summary, logged } = await runScript(
      `return await agent('x', { schema: { type: 'object', required: ['n'] } });`,
      { provider: stubborn, budget: { tokens: 250 } },
    );
    expect(calls).toBe(3);
    expect(summary.result).toBeNull();
    const done = logged.find(
      (e): e is Extract<RunEvent, { type: 'agent.finished' }> => e.type === 'agent.finished',
    );
    expect(done).toMatchObject({
      status: 'stopped',
      error: 'token budget exhausted: 300 of 250 tokens spent',
    });
  });
});

describe('a dollar budget', () => {
  test('needs a priced model, and stops the run when spent', async () => {
    await expect(runScript('return 1;', { model: 'sim', budget: { usd: 1 } })).rejects.toThrow(
      'a dollar budget needs prices, and model "sim" has none; use a token budget instead',
    );
    // Sonnet 5.5 output costs $10 per million tokens: each agent here costs $0.01.
    const provider = createFixtureProvider('usd.json', {
      model: 'claude-sonnet-5-5',
      rules: [{ match: {}, text: 'ok', usage: { input: 0, output: 1000 } }],
    });
    const { summary } = await runScript(`for (let i = 0; i < 10; i++) await agent('x' + i);`, {
      provider,
      budget: { usd: 0.035 },
    });
    expect(summary.status).toBe('stopped');
    expect(summary.usage.agents).toBe(4);
    expect(summary.usage.usd).toBe(0.04);
    expect(summary.error).toMatch(/dollar budget exhausted: \$0\.0400 of \$0\.04 spent/);
  });
});
