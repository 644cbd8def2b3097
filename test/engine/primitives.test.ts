import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { savedWorkflows } from '../../src/engine/saved-workflows.js';
import { createFixtureProvider, type FixtureRule } from '../../src/models/fixture.js';
import { type ModelProvider, type ModelRequest, textReply } from '../../src/models/types.js';
import { peakRunning, readJson, runScript, tempDir } from '../helpers.js';

function fixture(rules: FixtureRule[]): ModelProvider {
  return createFixtureProvider('inline.json', { rules });
}

const rule = (match: FixtureRule['match'], answer: Omit<FixtureRule, 'match'>): FixtureRule => ({
  match,
  ...answer,
});

function ofType<T extends RunEvent['type']>(events: RunEvent[], type: T) {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

/** A model that answers each call with the next reply in the list, and records what it was asked. */
function scripted(replies: string[]): ModelProvider & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    id: 'scripted',
    defaultModel: 'scripted',
    modelFor: (m) => m,
    structuredOutput: 'native',
    requests,
    async complete(request) {
      requests.push(structuredClone({ ...request, signal: undefined }) as unknown as ModelRequest);
      const text = replies[requests.length - 1];
      if (text === undefined) throw new Error('scripted model ran out of replies');
      return textReply(
        text,
        { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 },
        'scripted',
      );
    },
  };
}

describe('args', () => {
  test('are the run arguments, verbatim', async () => {
    const args = { files: ['a.js', 'b.js'], deep: { n: 1.5, none: null }, text: 'ünïcode "quoted"' };
    const { summary } = await runScript('return args;', { args });
    expect(summary.result).toEqual(args);
  });

  test('are undefined when the run has none', async () => {
    const { summary } = await runScript('return typeof args;');
    expect(summary.result).toBe('undefined');
  });
});

describe('agent', () => {
  test('without a schema resolves to the final text', async () => {
    const provider = fixture([rule({ prompt: '^hello' }, { text: 'hi there' })]);
    const { summary } = await runScript(`return await agent('hello world');`, { provider });
    expect(summary.result).toBe('hi there');
  });

  test('with a schema resolves to the validated object, parsed from text when need be', async () => {
    const provider = fixture([rule({}, { text: '```json\n{"ok": true, "n": 3}\n```' })]);
    const { summary } = await runScript(
      `return await agent('count', { schema: { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer' } }, required: ['ok', 'n'] } });`,
      { provider },
    );
    expect(summary.result).toEqual({ ok: true, n: 3 });
  });

  test('an invalid reply is sent back with the validation error until it is corrected', async () => {
    const provider = scripted(['not json', '{"n": "three"}', '{"n": 3}']);
    const { summary, events } = await runScript(
      `return await agent('count', { label: 'counter', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } });`,
      { provider },
    );
    expect(summary.result).toEqual({ n: 3 });
    expect(provider.requests).toHaveLength(3);
    const third = provider.requests[2]!;
    expect(third.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(third.messages[2]!.content).toContain('the reply is not JSON');
    expect(third.messages[4]!.content).toMatch(/n: .*integer/);
    const finished = ofType(events, 'agent.finished')[0]!;
    expect(finished).toMatchObject({
      status: 'completed',
      attempts: 3,
      usage: { inputTokens: 30, outputTokens: 15 },
    });
  });

  test('after 5 invalid replies agent() throws with the last validation error', async () => {
    const provider = scripted(['{}', '{}', '{}', '{}', '{}', '{"n": 1}']);
    const { summary } = await runScript(
      `try { await agent('count', { schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }); }
       catch (e) { return e.message; }`,
      { provider },
    );
    expect(provider.requests).toHaveLength(5);
    expect(summary.result).toMatch(/failed schema validation 5 times; last error: .*required.*n/);
  });

  test('an agent that dies resolves to null, the run goes on, and the event log says why', async () => {
    const provider = fixture([
      rule({ label: 'broken' }, { error: 'API error 400: invalid request' }),
      rule({ label: 'fine' }, { text: 'ok' }),
    ]);
    const { summary, logged } = await runScript(
      `const a = await agent('x', { label: 'broken' });
       const b = await agent('y', { label: 'unmatched' });
       const c = await agent('z', { label: 'fine' });
       return [a, b, c];`,
      { provider },
    );
    expect(summary.status).toBe('completed');
    expect(summary.result).toEqual([null, null, 'ok']);
    const finished = ofType(logged, 'agent.finished');
    expect(finished.map((e) => [e.label, e.status])).toEqual([
      ['broken', 'failed'],
      ['unmatched', 'failed'],
      ['fine', 'completed'],
    ]);
    expect(finished[0]!.error).toBe('API error 400: invalid request');
    expect(finished[1]!.error).toMatch(/no fixture rule matches agent #1 \(label "unmatched"/);
  });

  test('bad options are refused at the call with a clear error', async () => {
    const { summary } = await runScript(
      `const errors = [];
       for (const opts of [{ schema: { type: 'array' } }, { isolation: 'container' }, { colour: 'red' }, { label: 3 }]) {
         try { await agent('x', opts); } catch (e) { errors.push(e.message); }
       }
       try { await agent(''); } catch (e) { errors.push(e.message); }
       return errors;`,
    );
    expect(summary.result).toEqual([
      'agent(): opts.schema must describe an object at its root ({ type: "object", properties: ... })',
      "agent(): opts.isolation must be 'worktree' when given",
      'agent(): unknown option "colour" (known: label, phase, schema, model, effort, isolation, agentType)',
      'agent(): opts.label must be a string',
      'agent(prompt, opts?) needs a non-empty prompt string',
    ]);
  });
});

describe('parallel', () => {
  test('waits for every thunk, keeps order, and turns a throwing thunk into null', async () => {
    const provider = fixture([
      rule({ label: 'slow' }, { text: 'slow', latencyMs: 60 }),
      rule({ label: 'fast' }, { text: 'fast', latencyMs: 1 }),
    ]);
    const { summary, logged } = await runScript(
      `return await parallel([
         () => agent('a', { label: 'slow' }),
         () => { throw new Error('boom'); },
         () => agent('b', { label: 'fast' }),
         async () => { await agent('c', { label: 'fast' }); throw new Error('late boom'); },
         () => 7,
       ]);`,
      { provider },
    );
    expect(summary.result).toEqual(['slow', null, 'fast', null, 7]);
    expect(ofType(logged, 'item.failed').map((e) => [e.where, e.error])).toEqual([
      ['parallel item 1', 'boom'],
      ['parallel item 3', 'late boom'],
    ]);
  });

  test('is a barrier: nothing after it starts until every thunk is done', async () => {
    const provider = fixture([
      rule({ label: 'slow' }, { text: 's', latencyMs: 80 }),
      rule({}, { text: 'x', latencyMs: 1 }),
    ]);
    const { logged } = await runScript(
      `await parallel([() => agent('a', { label: 'slow' }), () => agent('b', { label: 'quick' })]);
       await agent('after', { label: 'after' });`,
      { provider },
    );
    const slowDone = logged.findIndex((e) => e.type === 'agent.finished' && e.label === 'slow');
    const afterStart = logged.findIndex((e) => e.type === 'agent.started' && e.label === 'after');
    expect(slowDone).toBeGreaterThan(-1);
    expect(afterStart).toBeGreaterThan(slowDone);
  });

  test('refuses items that are not functions, naming the fix', async () => {
    const { summary } = await runScript(
      `try { await parallel([agent('x')]); } catch (e) { return e.message; }`,
    );
    expect(summary.result).toBe(
      'parallel() takes functions, but item 0 is object; wrap each call: parallel(items.map((x) => () => agent(...)))',
    );
  });
});

describe('pipeline', () => {
  test('stages get (previous, item, index), results keep item order, a throwing stage nulls its item', async () => {
    const { summary, logged } = await runScript(
      `return await pipeline(
         ['a', 'b', 'c'],
         (prev, item, index) => prev + item + index,
         (prev, item, index) => { if (item === 'b') throw new Error('bad b'); return prev + '|' + index; },
         (prev) => prev.toUpperCase(),
       );`,
    );
    expect(summary.result).toEqual(['AA0|0', null, 'CC2|2']);
    expect(ofType(logged, 'item.failed')).toMatchObject([
      { where: 'pipeline item 1 stage 1', error: 'bad b' },
    ]);
  });

  test('has no barrier between stages: a fast item reaches stage 2 while a slow one is in stage 1', async () => {
    const provider = fixture([
      rule({ label: '^find slow' }, { text: 'slow found', latencyMs: 150 }),
      rule({ label: '^find' }, { text: 'found', latencyMs: 1 }),
      rule({ label: '^verify' }, { text: 'verified', latencyMs: 1 }),
    ]);
    const { summary, logged } = await runScript(
      `return await pipeline(
         ['slow', 'quick'],
         (file) => agent('find in ' + file, { label: 'find ' + file }),
         (found, file) => agent('verify ' + found, { label: 'verify ' + file }),
       );`,
      { provider },
    );
    expect(summary.result).toEqual(['verified', 'verified']);
    const quickVerified = logged.findIndex((e) => e.type === 'agent.finished' && e.label === 'verify quick');
    const slowFound = logged.findIndex((e) => e.type === 'agent.finished' && e.label === 'find slow');
    expect(quickVerified).toBeLessThan(slowFound);
  });
});

describe('the 4096-item limit', () => {
  test('parallel and pipeline refuse longer lists with an explicit error, never truncating', async () => {
    const { summary } = await runScript(
      `const out = [];
       const ok = await parallel(Array.from({ length: 4096 }, (_, i) => () => i));
       out.push(ok.length, ok[4095]);
       try { await parallel(Array.from({ length: 4097 }, () => () => 1)); } catch (e) { out.push(e.message); }
       try { await pipeline(Array.from({ length: 5000 }, (_, i) => i), (x) => x); } catch (e) { out.push(e.message); }
       return out;`,
    );
    expect(summary.result).toEqual([
      4096,
      4095,
      'parallel() got 4097 items; the limit is 4096 per call. Split the list into batches of at most 4096.',
      'pipeline() got 5000 items; the limit is 4096 per call. Split the list into batches of at most 4096.',
    ]);
  });
});

describe('phase and log', () => {
  test('later agents are grouped under the phase; log lines reach the event log', async () => {
    const { logged } = await runScript(
      `await agent('a', { label: 'before' });
       phase('Verify');
       log('checking', 2, { files: ['x'] });
       await agent('b', { label: 'inside' });
       await agent('c', { label: 'explicit', phase: 'Fix' });`,
    );
    expect(ofType(logged, 'agent.started').map((e) => [e.label, e.phase])).toEqual([
      ['before', undefined],
      ['inside', 'Verify'],
      ['explicit', 'Fix'],
    ]);
    expect(ofType(logged, 'phase').map((e) => e.phase)).toEqual(['Verify']);
    expect(ofType(logged, 'log')).toMatchObject([{ message: 'checking 2 {"files":["x"]}', phase: 'Verify' }]);
  });

  test('a phase declared with a model in meta gives its agents that model', async () => {
    const provider = fixture([rule({}, { text: 'ok', usage: { input: 1_000_000, output: 0 } })]);
    const { logged, summary } = await runScript(
      `export const meta = { name: 'm', description: 'd', phases: [{ title: 'Cheap', model: 'claude-haiku-4-5' }] };
       phase('Cheap');
       await agent('x');`,
      { provider },
    );
    expect(ofType(logged, 'agent.started')[0]!.model).toBe('claude-haiku-4-5');
    expect(summary.usage.usd).toBe(1);
  });
});

describe('budget', () => {
  const costly = () => fixture([rule({}, { text: 'ok', usage: { input: 100, output: 20 } })]);

  test('total, spent() and remaining() count every billed token', async () => {
    const { summary } = await runScript(
      `const before = [budget.total, budget.spent(), budget.remaining()];
       await agent('x');
       return [before, [budget.total, budget.spent(), budget.remaining()]];`,
      { provider: costly(), budget: { tokens: 1000 } },
    );
    expect(summary.result).toEqual([
      [1000, 0, 1000],
      [1000, 120, 880],
    ]);
  });

  test('without a budget the total is Infinity', async () => {
    const { summary } = await runScript(
      `return [budget.total === Infinity, budget.remaining() === Infinity];`,
    );
    expect(summary.result).toEqual([true, true]);
  });

  test('once spent reaches the total, agent() throws and an uncaught stop ends the run as stopped', async () => {
    const { summary, logged } = await runScript(`for (let i = 0; i < 100; i++) await agent('x' + i);`, {
      provider: costly(),
      budget: { tokens: 500 },
    });
    expect(summary.status).toBe('stopped');
    expect(summary.error).toMatch(
      /plan\.js:2:\d+: BudgetExhaustedError: agent\(\) refused: token budget exhausted: 600 of 500/,
    );
    expect(ofType(logged, 'agent.finished')).toHaveLength(5);
    expect(ofType(logged, 'budget.exhausted')).toHaveLength(1);
  });
});

describe('workflow()', () => {
  function repoWith(files: Record<string, string>): string {
    const repo = tempDir();
    mkdirSync(join(repo, '.claude', 'workflows'), { recursive: true });
    for (const [name, source] of Object.entries(files))
      writeFileSync(join(repo, '.claude', 'workflows', name), source);
    return repo;
  }

  test('runs a saved workflow inline, sharing the agent count and the budget', async () => {
    const repo = repoWith({
      'child.js': `export const meta = { name: 'child', description: 'c' };
        const r = await parallel(args.items.map((x) => () => agent('child ' + x, { label: 'child' })));
        return { r, spent: budget.spent() };`,
    });
    const provider = fixture([rule({}, { text: 'ok', usage: { input: 10, output: 0 } })]);
    const { summary, logged } = await runScript(
      `await agent('first', { label: 'parent' });
       const child = await workflow('child', { items: [1, 2] });
       await agent('last', { label: 'parent' });
       return { child, spent: budget.spent() };`,
      { provider, workflows: savedWorkflows({ repoDir: repo }), budget: { tokens: 1000 } },
    );
    expect(summary.result).toEqual({ child: { r: ['ok', 'ok'], spent: 30 }, spent: 40 });
    expect(ofType(logged, 'agent.started').map((e) => [e.index, e.label])).toEqual([
      [0, 'parent'],
      [1, 'child'],
      [2, 'child'],
      [3, 'parent'],
    ]);
    expect(ofType(logged, 'workflow.finished')).toMatchObject([{ name: 'child', ok: true }]);
  });

  test('is one level deep, and unknown names say where they were looked for', async () => {
    const repo = repoWith({
      'outer.js': `export const meta = { name: 'outer', description: 'o' };\nreturn await workflow('inner');`,
      'inner.js': `export const meta = { name: 'inner', description: 'i' };\nreturn 1;`,
    });
    const { summary } = await runScript(
      `const errors = [];
       try { await workflow('outer'); } catch (e) { errors.push(e.message); }
       try { await workflow('missing'); } catch (e) { errors.push(e.message); }
       try { await workflow('../etc/passwd'); } catch (e) { errors.push(e.message); }
       return errors;`,
      { workflows: savedWorkflows({ repoDir: repo }) },
    );
    const [nested, missing, traversal] = summary.result as string[];
    expect(nested).toMatch(
      /^workflow "outer" failed: .*outer\.js:2:\d+: Error: workflow\(\) is one level deep: a nested workflow cannot start another$/,
    );
    expect(missing).toBe(
      `workflow(): no saved workflow named "missing" (looked in ${join(repo, '.claude', 'workflows')})`,
    );
    expect(traversal).toBe('workflow(nameOrRef): give the name of a saved workflow, e.g. workflow("audit")');
  });
});

describe('caps', () => {
  test('the agent after maxAgents throws', async () => {
    const { summary } = await runScript(
      `const got = [];
       for (let i = 0; i < 5; i++) got.push(await agent('x' + i));
       try { await agent('one too many'); } catch (e) { got.push(e.message); }
       return got;`,
      { maxAgents: 5 },
    );
    const got = summary.result as unknown[];
    expect(got).toHaveLength(6);
    expect(got[5]).toBe(
      'agent cap reached: this run may start at most 5 agents and this is agent #6; raise maxAgents (up to 1000) or do the work in fewer agents',
    );
  });

  test('1000 agents at concurrency 16: never more than 16 running, and the 1001st agent() throws', async () => {
    const { summary, logged } = await runScript(
      `const all = await parallel(Array.from({ length: 1000 }, (_, i) => () => agent('task ' + i)));
       let extra;
       try { await agent('task 1000'); } catch (e) { extra = e.message; }
       return { done: all.filter((x) => typeof x === 'string').length, extra };`,
      { model: 'sim?latency=2', concurrency: 16 },
    );
    expect(summary.result).toEqual({
      done: 1000,
      extra:
        'agent cap reached: this run may start at most 1000 agents and this is agent #1001; raise maxAgents (up to 1000) or do the work in fewer agents',
    });
    expect(peakRunning(logged)).toBe(16);
    expect(summary.usage.agents).toBe(1000);
  });

  test('concurrency above 16 or agents above 1000 are refused up front', async () => {
    await expect(runScript('return 1;', { concurrency: 17 })).rejects.toThrow(
      'concurrency must be a whole number from 1 to 16, got 17',
    );
    await expect(runScript('return 1;', { maxAgents: 1001 })).rejects.toThrow(
      'maxAgents must be a whole number from 1 to 1000, got 1001',
    );
  });
});

describe('the run directory', () => {
  test('holds the script, the journal, the events, the result and the usage with breakdowns', async () => {
    const provider = fixture([rule({}, { text: 'ok', usage: { input: 100, output: 10 } })]);
    const source = `export const meta = { name: 'files', description: 'd' };
phase('One');
await agent('a', { label: 'first' });
phase('Two');
await agent('b', { label: 'second', model: 'claude-sonnet-5-5' });
return 'done';`;
    const { summary } = await runScript(source, { provider });
    const dir = summary.runDir;
    for (const file of ['script.js', 'journal.jsonl', 'events.jsonl', 'result.json', 'usage.json']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(readJson(join(dir, 'result.json'))).toMatchObject({
      runId: summary.runId,
      status: 'completed',
      result: 'done',
      name: 'files',
    });
    const usage = readJson<Record<string, unknown>>(join(dir, 'usage.json'));
    expect(usage).toMatchObject({
      totals: { agents: 2, inputTokens: 200, outputTokens: 20, usd: 0.0003 },
      byPhase: { One: { agents: 1, inputTokens: 100 }, Two: { agents: 1, usd: 0.0003 } },
      byModel: { fixture: { agents: 1, usd: null }, 'claude-sonnet-5-5': { agents: 1, usd: 0.0003 } },
      unpricedModels: ['fixture'],
      agents: [
        { index: 0, label: 'first', phase: 'One', status: 'completed' },
        { index: 1, label: 'second', phase: 'Two', model: 'claude-sonnet-5-5' },
      ],
    });
  });
});
