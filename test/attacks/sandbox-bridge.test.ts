/**
 * A hostile script against the batched bridge between the guest and the host (prelude.ts,
 * host-calls.ts): re-entrant calls while a call is encoded, sync calls that flush the batch in the
 * middle of a call, replaced intrinsics, accessors on prototypes, the held and call limits, caps
 * while the prelude works, results that cannot be decoded, and the deadlock check.
 */
import { describe, expect, test } from 'vitest';
import { HostError } from '../../src/script/host.js';
import { GUEST_LIMITS, type HostBridge } from '../../src/script/sandbox.js';
import { jitteryProvider, runScript, tempDir } from '../helpers.js';
import { runSandboxed } from '../script/sandboxed.js';

/** A host that answers each call with its first argument and records every call and sync call in order. */
function echoHost(): { host: HostBridge; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    host: {
      call: async (name, args) => {
        seen.push(`${name} ${JSON.stringify(args[0])}`);
        return args[0];
      },
      sync: (name, args) => {
        seen.push(`${name}! ${JSON.stringify(args[0])}`);
        return name === 'budgetSpent' ? 0 : undefined;
      },
    },
  };
}

describe('the numbering of calls cannot be desynchronised', () => {
  test('a call made from a toJSON while another call is encoded is numbered first, on both sides', async () => {
    const { host, seen } = echoHost();
    const outcome = await runSandboxed(
      `let inner;
const outer = agent({ toJSON() { inner = agent('inner'); return 'outer'; } });
return [await outer, await inner];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['outer', 'inner'] });
    expect(seen).toEqual(['agent "inner"', 'agent "outer"']);
  });

  test('a sync call from a toJSON flushes the batch in the middle of a call; the order and results hold', async () => {
    const { host, seen } = echoHost();
    const outcome = await runSandboxed(
      `const a = agent('a');
const b = agent({ toJSON() { log('mid'); return 'b'; } });
const c = agent('c');
return [await a, await b, await c];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['a', 'b', 'c'] });
    expect(seen).toEqual(['agent "a"', 'log! "mid"', 'agent "b"', 'agent "c"']);
  });

  test('an encode that throws after re-entrant calls were batched leaves every other call its own result', async () => {
    const { host, seen } = echoHost();
    const outcome = await runSandboxed(
      `const made = [];
let threw = '';
const first = agent('first');
try {
  agent({ toJSON() { made.push(agent('r1')); log('x'); made.push(agent('r2')); throw new Error('late'); } });
} catch (e) { threw = e.message; }
const last = agent('last');
return [threw, await first, await made[0], await made[1], await last];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['late', 'first', 'r1', 'r2', 'last'] });
    expect(seen).toEqual(['agent "first"', 'agent "r1"', 'log! "x"', 'agent "r2"', 'agent "last"']);
  });

  test('calls made in then callbacks, an Object.prototype then getter and async functions get their own results', async () => {
    const host: HostBridge = { call: async (_n, args) => ({ p: args[0] }), sync: () => undefined };
    const outcome = await runSandboxed(
      `const extra = [];
let n = 0;
Object.defineProperty(Object.prototype, 'then', {
  configurable: true,
  get() { if (n < 6) extra.push(agent('getter' + n++)); return undefined; },
});
const chained = agent('a').then((v) => agent(v.p + '-next'));
const items = await parallel([0, 1, 2].map((i) => async () => (await agent('item' + i)).p));
const first = await chained;
delete Object.prototype.then;
const got = [];
for (const p of extra) got.push((await p).p);
return [first.p, items, got.every((g, i) => g === 'getter' + i), got.length > 0];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['a-next', ['item0', 'item1', 'item2'], true, true] });
  });

  test('many calls over several batches (large and small, sync calls between) all get their own results', async () => {
    const { host } = echoHost();
    const outcome = await runSandboxed(
      `const big = 'x'.repeat(700 * 1024);
const ps = [];
for (let i = 0; i < 40; i++) {
  ps.push(agent(i % 3 === 0 ? i + big : String(i)));
  if (i % 7 === 0) phase('p' + i);
}
const got = await parallel(ps.map((p) => () => p));
return got.map((v, i) => (i % 3 === 0 ? v === i + big : v === String(i))).every(Boolean);`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: true });
  });

  test('a result that cannot be decoded in the guest fails only its own call', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 8000; i++) deep = [deep];
    const host: HostBridge = {
      call: async (_n, args) => (args[0] === 'deep' ? deep : args[0]),
      sync: () => undefined,
    };
    const outcome = await runSandboxed(
      `const r = await parallel([() => agent('a'), () => agent('deep'), () => agent('c')]);
let alone;
try { await agent('deep'); alone = 'decoded'; } catch (e) { alone = 'failed'; }
return [r, alone, await agent('after')];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: [['a', null, 'c'], 'failed', 'after'] });
  });
});

describe('no escape into the prelude', () => {
  test('accessors on Array.prototype indices never see a call record, a parallel() item or its results', async () => {
    const outcome = await runSandboxed(
      `let seen = '';
// A call record holds resolvers; a parallel() item has fulfilled/failed/watch.
const prelude = (o) => o !== null && typeof o === 'object' &&
  (Object.values(Object.getOwnPropertyDescriptors(o)).some((d) => typeof d.value === 'function') || 'fulfilled' in o);
for (let i = 0; i < 8; i++) {
  Object.defineProperty(Array.prototype, i, {
    configurable: true,
    get() { if (prelude(this)) seen += 'get ' + i + ';'; return undefined; },
    set(v) { if (prelude(this) || prelude(v) || typeof v === 'function') seen += 'set ' + i + ';'; },
  });
}
const r = await parallel([() => agent('a'), () => 5, () => agent('b')]);
const alone = await agent('c');
for (let i = 0; i < 8; i++) delete Array.prototype[i];
return [r[0], r[1], r[2], alone, seen];`,
      { host: echoHost().host },
    );
    expect(outcome).toEqual({ ok: true, value: ['a', 5, 'b', 'c', ''] });
  });

  test('replacing JSON, Promise, Reflect, Array and String methods before calls changes nothing the host reads', async () => {
    const { host, seen } = echoHost();
    const outcome = await runSandboxed(
      `const saved = { parse: JSON.parse, stringify: JSON.stringify };
JSON.stringify = () => 'forged';
JSON.parse = () => 'forged';
globalThis.Promise = function () { throw new Error('no'); };
Reflect.apply = () => 'forged';
Array.prototype.map = () => 'forged';
Array.prototype.forEach = () => 'forged';
Array.from = () => 'forged';
Array.isArray = () => true;
String.prototype.slice = () => 'forged';
String.prototype.indexOf = () => 0;
const r = await parallel([() => agent('a'), () => agent('b')]);
const c = await agent('c');
Object.assign(JSON, saved);
return [r[0], r[1], c];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['a', 'b', 'c'] });
    expect(seen).toEqual(['agent "a"', 'agent "b"', 'agent "c"']);
  });

  test('the prelude functions the host calls are not reachable from the script', async () => {
    const outcome = await runSandboxed(
      `const names = ['call', 'sync', 'flush', 'drain', 'settle', 'settleMany', 'waiting', 'tagKind', 'describeThrown', 'invoke'];
return names.filter((n) => n in globalThis || typeof globalThis[n] !== 'undefined')
  .concat(Object.getOwnPropertyNames(agent).filter((n) => !['length', 'name', 'prototype'].includes(n)));`,
    );
    expect(outcome).toEqual({ ok: true, value: [] });
  });
});

describe('limits hold through the batch', () => {
  test('the host never holds more than GUEST_LIMITS.held characters, also with calls made while one is encoded', async () => {
    let held = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const host: HostBridge = {
      call: (_n, args) => {
        const size = JSON.stringify(args).length;
        held += size;
        most = Math.max(most, held);
        return new Promise((resolve) => {
          release.push(() => {
            held -= size;
            resolve('ok');
          });
        });
      },
      sync: (name) => {
        if (name === 'log') for (const r of release.splice(0)) r();
        return undefined;
      },
    };
    const outcome = await runSandboxed(
      `const big = 'x'.repeat(4000000);
const made = [];
const errors = [];
for (let i = 0; i < 20; i++) {
  try { made.push(agent(big, { i })); } catch (e) { errors.push(e instanceof RangeError); }
}
try {
  agent({ toJSON() { try { made.push(agent(big)); } catch (e) { errors.push('inner'); } return big; } });
} catch (e) { errors.push(e instanceof RangeError); }
return [made.length, errors];`,
      { host },
    );
    expect(outcome.ok).toBe(true);
    const [made, errors] = (outcome as { value: [number, unknown[]] }).value;
    expect(made).toBe(16);
    expect(errors.every((e) => e === true || e === 'inner')).toBe(true);
    expect(errors.length).toBe(20 - 16 + 2);
    expect(most).toBeLessThanOrEqual(GUEST_LIMITS.held);
    for (const r of release.splice(0)) r();
  }, 60_000);

  test('a call longer than GUEST_LIMITS.call is refused at the call and never crosses', async () => {
    const { host, seen } = echoHost();
    const outcome = await runSandboxed(
      `let threw = false;
try { agent('y'.repeat(${GUEST_LIMITS.call})); } catch (e) { threw = e instanceof RangeError; }
return [threw, await agent('small')];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: [true, 'small'] });
    expect(seen).toEqual(['agent "small"']);
  });

  test('a toJSON that never returns while a call is encoded is stopped by the CPU cap', async () => {
    const outcome = await runSandboxed(
      `const p = agent('a'); agent({ toJSON() { for (;;) {} } }); return await p;`,
      {
        limits: { cpuMs: 300 },
      },
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
  });

  test('a getter that grows without end while a call is encoded is stopped by the memory cap', async () => {
    const outcome = await runSandboxed(
      `const hog = [];
agent({ get x() { for (;;) hog.push('z'.repeat(1024) + hog.length); } });`,
      { limits: { memoryBytes: 16 * 1024 * 1024 } },
    );
    expect(outcome.ok).toBe(false);
    expect(['memory', 'error']).toContain((outcome as { failure: { kind: string } }).failure.kind);
  });

  test('a then getter that loops while results are handed over is stopped by the CPU cap', async () => {
    const outcome = await runSandboxed(
      `Object.defineProperty(Object.prototype, 'then', { configurable: true, get() { for (;;) {} } });
await parallel([() => agent('x'), () => agent('y')]);`,
      { host: { call: async () => ({ a: 1 }), sync: () => undefined }, limits: { cpuMs: 300 } },
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
  });

  test('an Error.prototype message setter that loops while a host error is handed over is stopped by the CPU cap', async () => {
    const host: HostBridge = {
      call: async () => {
        throw new HostError('refused', 'budget');
      },
      sync: () => undefined,
    };
    const outcome = await runSandboxed(
      `Object.defineProperty(Error.prototype, 'message', { configurable: true, set(v) { for (;;) {} } });
await agent('x');`,
      { host, limits: { cpuMs: 300 } },
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
  });
});

describe('semantics the docs promise', () => {
  test('parallel(): results in order, null for failed items, each reported; host errors keep their kind', async () => {
    const failed: unknown[][] = [];
    const host: HostBridge = {
      call: async (_n, args) => {
        if (args[0] === 'refuse') throw new HostError('over budget', 'budget');
        if (args[0] === 'fail') throw new Error('broken');
        return args[0];
      },
      sync: (name, args) => {
        if (name === 'itemFailed') failed.push(args);
        return undefined;
      },
    };
    const outcome = await runSandboxed(
      `const r = await parallel([() => agent('a'), () => agent('fail'), () => agent('b'), () => agent('refuse')]);
try { await agent('refuse'); } catch (e) { throw e; }`,
      { host },
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'budget', message: 'Error: over budget' } });
    expect(failed).toEqual([
      ['parallel item 1', 'broken'],
      ['parallel item 3', 'over budget'],
    ]);
  });

  test('pipeline(): stages in order per item, null for an item whose stage fails', async () => {
    const { host } = echoHost();
    const outcome = await runSandboxed(
      `return await pipeline(['a', 'b', 'c'], (x) => agent(x + '1'), (x) => { if (x === 'b1') throw new Error('no'); return agent(x + '2'); });`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['a12', null, 'c12'] });
  });

  test('a promise that can never settle is a deadlock; calls still only in the batch are not', async () => {
    const stuck = await runSandboxed(`await new Promise(() => {});`);
    expect(stuck).toMatchObject({ ok: false, failure: { kind: 'deadlock' } });
    const { host } = echoHost();
    const batched = await runSandboxed(
      `const p = agent('a');
await null;
const q = new Promise((resolve) => p.then(resolve));
await Promise.resolve();
return await q;`,
      { host },
    );
    expect(batched).toEqual({ ok: true, value: 'a' });
    const afterCalls = await runSandboxed(`await agent('a'); await new Promise(() => {});`, { host });
    expect(afterCalls).toMatchObject({ ok: false, failure: { kind: 'deadlock' } });
  });

  test('a thrown host error with a kind cannot be copied onto a script error by a fresh object', async () => {
    const outcome = await runSandboxed(`throw Object.assign(new Error('x'), { kind: 'budget' });`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error' } });
  });
});

describe('replay through the engine', () => {
  // Calls made while another is encoded, a sync call in the middle of a call, and parallel() items.
  const HOSTILE = `
const inner = [];
const outer = [];
for (let i = 0; i < 6; i++) {
  outer.push(agent({ toJSON() { inner.push(agent('inner ' + i, { label: 'inner ' + i })); log('mid ' + i); return 'outer ' + i; } }, { label: 'outer ' + i }));
}
const items = await parallel(Array.from({ length: 6 }, (_, i) => () => agent('item ' + (i + 6), { label: 'item ' + (i + 6) })));
return [await Promise.all(outer), await Promise.all(inner), items];`;

  test('a resume of calls made while others were encoded replays every result to its own call', async () => {
    const runsDir = tempDir();
    const first = await runScript(HOSTILE, { provider: jitteryProvider(), runsDir, concurrency: 3 });
    expect(first.summary.status).toBe('completed');
    const again = await runScript(HOSTILE, {
      provider: jitteryProvider(),
      runsDir,
      concurrency: 3,
      resume: first.summary.runId,
    });
    expect(again.summary).toMatchObject({ status: 'completed', result: first.summary.result });
    expect(again.summary.usage.agents).toBe(0);
    const [outer, inner, items] = first.summary.result as [string[], string[], string[]];
    expect(outer.map((a) => a.replace(/^answer /, ''))).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(inner.map((a) => a.replace(/^answer /, ''))).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(items.map((a) => a.replace(/^answer /, ''))).toEqual(['6', '7', '8', '9', '10', '11']);
  }, 60_000);
});
