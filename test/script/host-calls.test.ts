import { describe, expect, test } from 'vitest';
import { type BridgeRun, HostCalls } from '../../src/script/host-calls.js';
import { newInstance } from '../../src/script/instance.js';
import { PRELUDE_SOURCE } from '../../src/script/prelude.js';
import { DEFAULT_LIMITS, GUEST_LIMITS, type HostBridge } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

/** A host whose calls all settle in the same turn of the event loop, each with what `answer` gives. */
function sameTurnHost(answer: (prompt: string) => unknown): HostBridge {
  return {
    call: async (_name, args) => {
      const value = answer(String(args[0]));
      if (value instanceof Error) throw value;
      return value;
    },
    sync: () => undefined,
  };
}

describe('results handed to the script together', () => {
  test('arrive intact and in order: strings of any characters, values, undefined, results over a MiB', async () => {
    const big = `${'é'.repeat(700_000)}😀`;
    const answers: Record<string, unknown> = {
      a: 'plain',
      b: 'quotes " and \\ and \n and \u2028',
      c: '😀 surrogate pairs 𝄞 and more',
      d: undefined,
      e: { nested: [1, 'two', null, { three: 3 }] },
      f: big,
      g: big,
      h: 42,
      i: null,
    };
    const host = sameTurnHost((prompt) => answers[prompt]);
    const outcome = await runSandboxed(
      `const order = [];
const all = await Promise.all(${JSON.stringify(Object.keys(answers))}.map((k) => agent(k).then((v) => { order.push(k); return v; })));
return { all, order };`,
      { host },
    );
    expect(outcome).toEqual({
      ok: true,
      value: {
        all: Object.values(answers).map((v) => (v === undefined ? null : v)),
        order: Object.keys(answers),
      },
    });
  });

  test('an error among results reaches its own call, in its place', async () => {
    const host = sameTurnHost((prompt) => (prompt === 'bad' ? new Error('refused') : `ok ${prompt}`));
    const outcome = await runSandboxed(
      `const seen = [];
await Promise.all(['one', 'bad', 'two'].map((p) =>
  agent(p).then((v) => seen.push(v), (e) => seen.push(e.message)),
));
return seen;`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['ok one', 'refused', 'ok two'] });
  });

  test('a script that replaces String.prototype.slice, JSON.parse or Promise cannot reach or change them', async () => {
    const host = sameTurnHost((prompt) => `result of ${prompt}`);
    const outcome = await runSandboxed(
      `const seen = [];
const RealPromise = Promise;
String.prototype.slice = function () { seen.push('slice'); return 'forged'; };
const realParse = JSON.parse;
JSON.parse = function (text) { seen.push('parse'); return realParse(text); };
globalThis.Promise = function () { seen.push('Promise'); };
const all = await RealPromise.all([agent('a'), agent('b')]);
return { all, seen };`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: { all: ['result of a', 'result of b'], seen: [] } });
  });
});

describe('calls handed to the host in batches', () => {
  /** A host that records, in order, every call and sync call it sees and when the guest is about to run. */
  function orderHost(): { host: HostBridge; seen: string[] } {
    const seen: string[] = [];
    return {
      seen,
      host: {
        call: async (name, args) => {
          seen.push(`${name} ${String(args[0])}`);
          return `done ${String(args[0])}`;
        },
        sync: (name, args) => {
          seen.push(`${name} ${args.map(String).join(' ')}`);
          return name === 'budgetSpent' ? 0 : undefined;
        },
      },
    };
  }

  test('the host sees every call and sync call in the order the script made them', async () => {
    const { host, seen } = orderHost();
    const outcome = await runSandboxed(
      `phase('A');
const a = agent('a');
log('after a');
const b = agent('b');
const c = agent('c');
budget.spent();
phase('B');
const d = agent('d');
const first = await a;
const e = agent('e');
log('after e');
return [first, await b, await c, await d, await e];`,
      { host, beforeGuest: () => seen.push('guest turn') },
    );
    expect(outcome).toEqual({ ok: true, value: ['done a', 'done b', 'done c', 'done d', 'done e'] });
    expect(seen.slice(0, 9)).toEqual([
      'phase A',
      'agent a',
      'log after a',
      'agent b',
      'agent c',
      'budgetSpent ',
      'phase B',
      'agent d',
      'guest turn',
    ]);
    expect(seen.slice(seen.indexOf('agent e'))).toEqual(['agent e', 'log after e', 'guest turn']);
  });

  test('calls are started in the slice that made them, before the guest runs again', async () => {
    const { host, seen } = orderHost();
    const outcome = await runSandboxed(
      `const out = [];
for (const p of ['a', 'b']) out.push(await agent(p));
const more = await Promise.all(['c', 'd'].map((p) => agent(p)));
return out.concat(more);`,
      { host, beforeGuest: () => seen.push('guest turn') },
    );
    expect(outcome).toEqual({ ok: true, value: ['done a', 'done b', 'done c', 'done d'] });
    // The first turn is the script's start (its jobs run once after it is evaluated).
    expect(seen).toEqual([
      'agent a',
      'guest turn',
      'guest turn',
      'agent b',
      'guest turn',
      'agent c',
      'agent d',
      'guest turn',
    ]);
  });

  test('a batch past its size is handed over at once, and every call still gets its own result', async () => {
    const calls: string[] = [];
    const host = sameTurnHost((prompt) => {
      calls.push(prompt.slice(0, 4));
      return prompt.length;
    });
    const each = Math.ceil(GUEST_LIMITS.batch / 5);
    const outcome = await runSandboxed(
      `const big = 'x'.repeat(${each});
const all = [];
for (let i = 0; i < 12; i++) all.push(agent(String(i).padStart(4, '0') + big.slice(i)));
return await Promise.all(all);`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: Array.from({ length: 12 }, (_, i) => 4 + each - i) });
    expect(calls).toEqual(Array.from({ length: 12 }, (_, i) => String(i).padStart(4, '0')));
  });

  test('calls the script makes before a stop (the CPU cap) in the same slice never reach the host', async () => {
    const { host, seen } = orderHost();
    const outcome = await runSandboxed(`agent('a'); for (;;) {}`, { host, limits: { cpuMs: 200 } });
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
    expect(seen).toEqual([]);
  });
});

describe('a batch of calls, read by the host', () => {
  test('numbers every line, refuses a line that is too long or not a call as that call only', async () => {
    const { runtime, ctx } = await newInstance(DEFAULT_LIMITS);
    const started: string[] = [];
    const fakeGuest = ctx.unwrapResult(
      ctx.evalCode(`(() => {
  const got = [];
  const one = (id, failed, value) => { got.push(id + (failed ? ' failed: ' + value.message : ' ' + value)); };
  const many = (header, payload) => {
    const fields = JSON.parse(header);
    const values = JSON.parse(payload);
    let next = 0;
    for (let i = 0; i < fields.length; i += 2) one(fields[i], false, fields[i + 1] < 0 ? undefined : values[next++]);
  };
  return [one, many, () => got.sort().join('|')];
})()`),
    );
    const one = ctx.getProp(fakeGuest, 0);
    const many = ctx.getProp(fakeGuest, 1);
    const got = ctx.getProp(fakeGuest, 2);
    let turns = 0;
    const run: BridgeRun = {
      done: false,
      interrupted: false,
      tagger: undefined,
      drainer: undefined,
      settlers: { one, many },
      guarded: (fn) => fn(),
      pump: (first) => {
        turns++;
        first?.();
      },
    };
    const calls = new HostCalls(ctx, run, {
      host: {
        call: async (name, args) => {
          started.push(`${name} ${String(args[0]).slice(0, 10)}`);
          return String(args[0]).length;
        },
        sync: () => undefined,
      },
    });
    const { call, sync } = calls.functions();
    const tooLong = JSON.stringify(['y'.repeat(GUEST_LIMITS.call)]);
    const batch = ctx.newString(`agent ["a"]\nagent ${tooLong}\nagent ["bb"]\nnonsense\noracle []\n`);
    ctx.unwrapResult(ctx.callFunction(call, ctx.undefined, batch)).dispose();
    batch.dispose();
    expect(calls.inFlight).toBe(5);
    while (calls.inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(turns).toBeGreaterThan(0);
    expect(started).toEqual(['agent a', 'agent bb', 'oracle undefined']);
    const settled = ctx.unwrapResult(ctx.callFunction(got, ctx.undefined));
    expect(ctx.getString(settled).split('|')).toEqual([
      '1 1',
      `2 failed: agent(): its arguments are longer than ${GUEST_LIMITS.call} characters`,
      '3 2',
      expect.stringMatching(/^4 failed: .*JSON/),
      '5 9',
    ]);
    settled.dispose();
    for (const handle of [one, many, got, fakeGuest, call, sync]) handle.dispose();
    ctx.dispose();
    runtime.dispose();
  });
});

describe("the prelude's settleMany", () => {
  test('decodes a batch of results at once, or each on its own when it cannot; refuses a result nobody waits for', async () => {
    const { runtime, ctx } = await newInstance(DEFAULT_LIMITS);
    const call = ctx.newFunction('call', () => ctx.undefined);
    const sync = ctx.newFunction('sync', () => ctx.undefined);
    const installer = ctx.unwrapResult(ctx.evalCode(PRELUDE_SOURCE));
    const limits = ctx.unwrapResult(ctx.evalCode(`(${JSON.stringify(GUEST_LIMITS)})`));
    const installed = ctx.unwrapResult(
      ctx.callFunction(installer, ctx.undefined, call, sync, ctx.undefined, ctx.null, limits),
    );
    const many = ctx.getProp(installed, 3);
    const seen = ctx.unwrapResult(
      ctx.evalCode(`const seen = [];
for (const p of ['a', 'b', 'c', 'd', 'e']) agent(p).then((v) => seen.push(p + ' ' + JSON.stringify(v)), (e) => seen.push(p + ' failed ' + e.name));
seen`),
    );
    const hand = (fields: number[], payload: string) => {
      const header = ctx.newString(JSON.stringify(fields));
      const results = ctx.newString(payload);
      ctx.unwrapResult(ctx.callFunction(many, ctx.undefined, header, results)).dispose();
      header.dispose();
      results.dispose();
      ctx.unwrapResult(runtime.executePendingJobs());
    };
    // Results of calls 1 and 2 (and 3, undefined) as one array; then 4 and 5, one of them broken.
    hand([1, 4, 3, -1, 2, 10], '["x1",{"n":[1,2]}]');
    hand([4, 3, 5, 4], '["y",{"n}]');
    // A result for a call the prelude does not wait for (which the host should never send) means
    // the two sides no longer count alike: settling fails, saying so, instead of dropping it.
    expect(() => hand([99, 4], '["lost"]')).toThrow(/answered call #99, which the script is not waiting for/);
    expect(ctx.dump(seen)).toEqual([
      'a "x1"',
      'c undefined',
      'b {"n":[1,2]}',
      'd "y"',
      'e failed SyntaxError',
    ]);
    for (const handle of [seen, many, installed, limits, installer, call, sync]) handle.dispose();
    ctx.dispose();
    runtime.dispose();
  });
});
