import { describe, expect, test } from 'vitest';
import { digestEvents, MAX_FAILURE_REASONS, type RunEvent } from '../../src/engine/events.js';
import { resolveModel } from '../../src/models/resolve.js';
import { ModelError, type ModelFailure, type ModelProvider, ZERO_USAGE } from '../../src/models/types.js';
import { runScript } from '../helpers.js';

// Issue 12: failed agents are counted and explained, and a run none of whose agents succeeded fails.

/** The sim, but agents whose prompt names a failure fail with it (as the Anthropic provider's do). */
function failing(failures: Record<string, ModelFailure | string>): ModelProvider {
  const sim = resolveModel('sim');
  return {
    ...sim,
    async complete(request) {
      const prompt = JSON.stringify(request.messages);
      for (const [word, failure] of Object.entries(failures)) {
        if (!prompt.includes(word)) continue;
        await new Promise((done) => setTimeout(done, 20));
        if (typeof failure === 'string') throw new ModelError(failure);
        throw new ModelError(`${failure.reason} after 12 retries: details`, ZERO_USAGE, failure);
      }
      return sim.complete(request);
    },
  };
}

const overloaded: ModelFailure = {
  kind: 'overloaded',
  reason: 'API error 529',
  explanation: 'the model API was overloaded (API error 529)',
};
const down: ModelFailure = {
  kind: 'unreachable',
  reason: 'Connection error',
  explanation: 'the model API could not be reached (Connection error)',
};

describe('failed agents', () => {
  test('a script that handles some failed agents is in control: completed, with how many failed and why', async () => {
    const { summary } = await runScript(
      `const a = await agent('first');
       const b = await agent('busy one');
       const c = await agent('busy two');
       const d = await agent('odd one');
       return [a, b, c, d].map((x) => x !== null);`,
      { provider: failing({ busy: overloaded, odd: 'a reply the fixture could not match' }) },
    );
    expect(summary).toMatchObject({
      status: 'completed',
      result: [true, false, false, false],
      failedAgents: 3,
      failures: { 'API error 529': 2, 'a reply the fixture could not match': 1 },
    });
  });

  test('every agent failed: the run fails with the reason the provider explained, even if the script returned', async () => {
    const { summary } = await runScript(
      `const all = await Promise.all([agent('busy one'), agent('busy two')]);
       return { findings: [], failed: all.filter((x) => x === null).length };`,
      { provider: failing({ busy: overloaded }) },
    );
    expect(summary).toMatchObject({
      status: 'failed',
      error: 'every agent failed: the model API was overloaded (API error 529)',
      failedAgents: 2,
    });
  });

  test('every agent failed and then the script threw on their nulls: the agents are named first', async () => {
    const { summary } = await runScript(`const a = await agent('busy'); return a.length;`, {
      provider: failing({ busy: overloaded }),
    });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(
      /^every agent failed: the model API was overloaded \(API error 529\); then the script failed: plan\.js:\d+:\d+: TypeError/,
    );
  });

  test('an unreachable model after an answer does not stop the run: only before any answer', async () => {
    const { summary } = await runScript(
      `const a = await agent('fine');
       const b = await agent('down one');
       const c = await agent('fine again');
       return [a !== null, b !== null, c !== null];`,
      { provider: failing({ down }) },
    );
    expect(summary).toMatchObject({ status: 'completed', result: [true, false, true], failedAgents: 1 });
  });

  test('an unreachable model before any answer stops the agents still waiting and fails the run', async () => {
    const { summary, logged } = await runScript(
      `const all = await Promise.all([agent('down'), ...[1, 2, 3].map((i) => agent('slow ' + i))]);
       return all;`,
      { provider: failing({ down }), concurrency: 1 },
    );
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe(
      'the model API could not be reached (Connection error); the run was stopped before any agent succeeded (1 failed, 3 stopped), since the others would have failed alike',
    );
    const started = logged.filter((e) => e.type === 'agent.started');
    expect(started).toHaveLength(1);
  });
});

describe('the digest of failures', () => {
  test(`keeps the first ${MAX_FAILURE_REASONS} distinct reasons, most frequent first, and counts the rest apart`, () => {
    const usage = ZERO_USAGE;
    const finished = (index: number, error: string, reason?: string): RunEvent => ({
      t: index,
      type: 'agent.finished',
      index,
      status: 'failed',
      usage,
      usd: null,
      error,
      ...(reason ? { reason } : {}),
    });
    const events: RunEvent[] = [
      finished(0, 'API error 500 after 12 retries: x', 'API error 500'),
      ...Array.from({ length: 25 }, (_, i) => finished(i + 1, `distinct ${i}\nsecond line`)),
      finished(30, 'API error 500 after 12 retries: y', 'API error 500'),
      {
        t: 31,
        type: 'agent.finished',
        index: 31,
        status: 'invalid',
        usage,
        usd: null,
        error: 'e',
        reason: 'bad',
      },
      { t: 32, type: 'agent.finished', index: 32, status: 'completed', usage, usd: null },
      { t: 33, type: 'agent.finished', index: 33, status: 'completed', usage, usd: null, replayed: true },
      { t: 34, type: 'agent.retry', index: 0, attempt: 1, of: 12, reason: 'API error 500', delayMs: 1 },
    ];
    const digest = digestEvents(events);
    expect(digest.agents).toEqual({ completed: 2, failed: 28, stopped: 0, replayed: 1 });
    expect(digest.retries).toBe(1);
    expect(digest.failures).toHaveLength(MAX_FAILURE_REASONS);
    expect(digest.failures[0]).toEqual({ reason: 'API error 500', count: 2 });
    expect(digest.failures[1]).toEqual({ reason: 'distinct 0', count: 1 });
    expect(digest.otherFailures).toBe(28 - 2 - (MAX_FAILURE_REASONS - 1));
  });
});
