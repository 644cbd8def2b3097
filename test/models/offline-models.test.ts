import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { validateAnswer } from '../../src/agents/schema.js';
import { costUsd } from '../../src/models/pricing.js';
import { PromptCacheEstimator } from '../../src/models/prompt-cache.js';
import { resolveModel } from '../../src/models/resolve.js';
import type { ModelRequest } from '../../src/models/types.js';
import { tempDir } from '../helpers.js';

const schema = {
  type: 'object',
  properties: {
    findings: {
      type: 'array',
      minItems: 2,
      maxItems: 3,
      items: {
        type: 'object',
        properties: {
          severity: { enum: ['low', 'high'] },
          line: { type: 'integer', minimum: 1, maximum: 500 },
          title: { type: 'string', minLength: 30, maxLength: 40 },
          fixed: { type: 'boolean' },
          note: { type: ['string', 'null'] },
          kind: { const: 'bug' },
          score: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
        },
        required: ['severity', 'line', 'title', 'fixed', 'note', 'kind', 'score'],
      },
    },
  },
  required: ['findings'],
};

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: 'sim',
    system: 'system text',
    messages: [{ role: 'user', content: 'review src/app.js please' }],
    agent: { index: 0, label: 'review', attempt: 1 },
    signal: new AbortController().signal,
    ...over,
  };
}

describe('sim', () => {
  test('answers with schema-valid placeholders, the same for the same seed and request', async () => {
    const sim = resolveModel('sim?seed=7');
    const a = await sim.complete(request({ schema }));
    const b = await resolveModel('sim?seed=7').complete(request({ schema }));
    const c = await resolveModel('sim?seed=8').complete(request({ schema }));
    expect(validateAnswer(schema, a)).toEqual({ ok: true, value: a.output });
    expect(a.output).toEqual(b.output);
    expect(c.output).not.toEqual(a.output);
    expect((a.output as { findings: unknown[] }).findings).toHaveLength(2);
  });

  test('counts tokens from sizes and waits its latency', async () => {
    const sim = resolveModel('sim?latency=40');
    const started = performance.now();
    const reply = await sim.complete(request());
    expect(performance.now() - started).toBeGreaterThanOrEqual(38);
    // A prompt this short is below the cacheable minimum: all of it is plain input.
    expect(reply.usage).toEqual({
      inputTokens:
        Math.ceil('system text'.length / 4) + Math.ceil('user:review src/app.js please'.length / 4),
      outputTokens: Math.ceil(reply.text.length / 4),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  test('stops waiting when the agent is stopped', async () => {
    const stop = new AbortController();
    const pending = resolveModel('sim?latency=5000').complete(request({ signal: stop.signal }));
    stop.abort(new Error('stopped'));
    await expect(pending).rejects.toThrow('stopped');
  });

  test('can price its tokens as a named model', async () => {
    const sim = resolveModel('sim?as=claude-opus-5-5');
    expect(sim.defaultModel).toBe('claude-opus-5-5');
    expect((await sim.complete(request())).model).toBe('claude-opus-5-5');
  });

  test('refuses unknown or bad options', () => {
    expect(() => resolveModel('sim?speed=9')).toThrow(
      'unknown sim option "speed" (known: latency, seed, items, as, world)',
    );
    expect(() => resolveModel('sim?latency=-1')).toThrow(
      'sim option latency must be a number >= 0, got "-1"',
    );
    expect(() => resolveModel('gpt')).toThrow(/unknown model "gpt"; models: anthropic:MODEL/);
  });
});

describe('fixture files', () => {
  function write(content: unknown): string {
    const file = join(tempDir(), 'replies.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  test('the first matching rule answers, by label, phase and prompt', async () => {
    const file = write({
      model: 'claude-sonnet-5-5',
      rules: [
        {
          match: { label: '^verify', phase: 'Verify' },
          result: { confirmed: true },
          usage: { input: 5, output: 2 },
        },
        { match: { prompt: 'auth\\.js' }, text: 'auth answer' },
        { match: {}, text: 'fallback' },
      ],
    });
    const fixture = resolveModel(`fixture:${file}`);
    expect(fixture.defaultModel).toBe('claude-sonnet-5-5');
    const verify = await fixture.complete(
      request({ agent: { index: 1, label: 'verify 1', phase: 'Verify', attempt: 1 } }),
    );
    expect(verify).toMatchObject({ output: { confirmed: true }, usage: { inputTokens: 5, outputTokens: 2 } });
    const wrongPhase = await fixture.complete(
      request({
        agent: { index: 2, label: 'verify 2', phase: 'Find', attempt: 1 },
        messages: [{ role: 'user', content: 'look at auth.js' }],
      }),
    );
    expect(wrongPhase.text).toBe('auth answer');
    expect((await fixture.complete(request())).text).toBe('fallback');
  });

  test('a file with mistakes is refused with every problem named', () => {
    const file = write([
      { match: { label: '(' }, text: 'x' },
      { match: {}, text: 'x', result: {} },
      { match: { colour: 'red' }, text: 'x' },
    ]);
    expect(() => resolveModel(`fixture:${file}`)).toThrow(
      [
        `invalid fixture file ${file}:`,
        '  - rule 0.match.label: not a valid regular expression',
        '  - rule 1: each rule needs exactly one of "result", "text" or "error"',
        `  - rule 2.match: Unrecognized key: "colour"`,
      ].join('\n'),
    );
    const broken = write('{ not json');
    expect(() => resolveModel(`fixture:${broken}`)).toThrow(/^invalid fixture file .*replies\.json:\n {2}- /);
  });
});

describe('prices', () => {
  test('are per million tokens, and an unknown model costs unknown, not zero', () => {
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
      cacheReadTokens: 1_000_000,
      cacheWriteTokens: 1_000_000,
    };
    expect(costUsd('anthropic:claude-sonnet-5-5', usage)).toBeCloseTo(2 + 10 + 0.2 + 2.5);
    expect(costUsd('claude-opus-5-5', usage)).toBeCloseTo(4 + 20 + 0.2 + 5);
    expect(costUsd('mystery-model', usage)).toBeNull();
  });
});

describe('the prompt cache estimate of the offline models', () => {
  const system = 'x'.repeat(4 * 2000);
  const ask = (task: string, more: ModelRequest['messages'] = []) => ({
    system,
    messages: [{ role: 'user' as const, content: task }, ...more],
  });

  test('siblings sent together all write the shared prefix; later ones read it', () => {
    const cache = new PromptCacheEstimator();
    const a = cache.estimate(ask('task a'));
    const b = cache.estimate(ask('task b'));
    expect(a.usage).toEqual({
      inputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 2000 + Math.ceil('user:task a'.length / 4),
    });
    expect(b.usage.cacheReadTokens).toBe(0);
    cache.commit(a.writes);
    const c = cache.estimate(ask('task c'));
    expect(c.usage).toEqual({
      inputTokens: 0,
      cacheReadTokens: 2000,
      cacheWriteTokens: Math.ceil('user:task c'.length / 4),
    });
  });

  test("a tool loop's next turn reads the whole previous prompt", () => {
    const cache = new PromptCacheEstimator();
    const first = cache.estimate(ask('task'));
    cache.commit(first.writes);
    const second = cache.estimate(
      ask('task', [
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 't1', name: 'read_file', input: { path: 'a.js' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'y'.repeat(400) }] },
      ]),
    );
    const previous = first.usage.cacheWriteTokens;
    expect(second.usage.cacheReadTokens).toBe(previous);
    expect(second.usage.inputTokens).toBe(0);
    expect(second.usage.cacheWriteTokens).toBeGreaterThan(100);
  });

  test('nothing is cached below the minimum length', () => {
    const cache = new PromptCacheEstimator();
    const small = cache.estimate({ system: 'short', messages: [{ role: 'user', content: 'hi' }] });
    cache.commit(small.writes);
    expect(
      cache.estimate({ system: 'short', messages: [{ role: 'user', content: 'hi' }] }).usage.cacheReadTokens,
    ).toBe(0);
  });
});
