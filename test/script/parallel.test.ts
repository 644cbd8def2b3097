import { describe, expect, test } from 'vitest';
import type { HostBridge } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

/** A host that answers each call with its prompt and records the items parallel() reports as failed. */
function recordingHost(): { host: HostBridge; failed: unknown[][] } {
  const failed: unknown[][] = [];
  return {
    failed,
    host: {
      call: async (_name, args) => `done ${String(args[0])}`,
      sync: (name, args) => {
        if (name === 'itemFailed') failed.push(args);
        return undefined;
      },
    },
  };
}

describe('parallel() in the prelude', () => {
  test('every kind of item: a host call, a plain value, a thenable, an async function, undefined', async () => {
    const { host, failed } = recordingHost();
    const outcome = await runSandboxed(
      `return await parallel([
  () => agent('a'),
  () => 7,
  () => ({ then(resolve) { resolve('thenable'); } }),
  async () => (await agent('b')) + '!',
  () => undefined,
  () => Promise.resolve(null),
]);`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['done a', 7, 'thenable', 'done b!', null, null] });
    expect(failed).toEqual([]);
  });

  test('a thunk that throws or rejects gives null and is reported in item order of failing', async () => {
    const { host, failed } = recordingHost();
    const outcome = await runSandboxed(
      `const out = await parallel([
  async () => { await agent('x'); throw new Error('late'); },
  () => { throw new Error('at once'); },
  () => Promise.reject('plain'),
  () => agent('ok'),
]);
return out;`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: [null, null, null, 'done ok'] });
    expect(failed).toEqual([
      ['parallel item 1', 'at once'],
      ['parallel item 2', 'plain'],
      ['parallel item 0', 'late'],
    ]);
  });

  test('an empty list gives an empty list; a hole is skipped and gives undefined (null in JSON)', async () => {
    const outcome = await runSandboxed(
      `const empty = await parallel([]);
const holey = await parallel([() => 1, , () => 3]);
return { empty, holey, hole: 1 in holey && holey[1] === undefined, length: holey.length };`,
    );
    expect(outcome).toEqual({ ok: true, value: { empty: [], holey: [1, null, 3], hole: true, length: 3 } });
  });

  test('the result is a real Promise of a plain array, resolved once everything settled', async () => {
    const outcome = await runSandboxed(
      `const seen = [];
const p = parallel([() => agent('a').then((v) => { seen.push(v); return v; }), () => agent('b')]);
const isPromise = p instanceof Promise;
const out = await p;
return { isPromise, isArray: Array.isArray(out), out, seen };`,
    );
    expect(outcome).toEqual({
      ok: true,
      value: { isPromise: true, isArray: true, out: [null, null], seen: [null] },
    });
  });

  test('a script that replaces Promise, Array.prototype.map or forEach does not change it', async () => {
    const { host } = recordingHost();
    const outcome = await runSandboxed(
      `globalThis.Promise = function () { throw new Error('forged Promise'); };
Array.prototype.map = function () { throw new Error('forged map'); };
Array.prototype.forEach = function () { throw new Error('forged forEach'); };
const all = await parallel([() => agent('a'), () => 2]);
return all;`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['done a', 2] });
  });

  test('a failed item whose error cannot be read: at once, parallel() throws; later, it rejects', async () => {
    const outcome = await runSandboxed(
      `const bad = () => { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw new Error('unreadable'); } }); return e; };
const out = [];
try { parallel([() => { throw bad(); }]); } catch (e) { out.push('threw ' + e.message); }
try { await parallel([async () => { throw bad(); }]); } catch (e) { out.push('rejected ' + e.message); }
return out;`,
    );
    expect(outcome).toEqual({ ok: true, value: ['threw unreadable', 'rejected unreadable'] });
  });

  test('host calls as items: objects, failures, one promise twice, a call already settled, a call not returned', async () => {
    const failed: unknown[][] = [];
    const host: HostBridge = {
      call: async (_name, args) => {
        const prompt = String(args[0]);
        if (prompt.startsWith('bad')) throw new Error(`refused ${prompt}`);
        if (prompt.startsWith('obj')) return { prompt, list: [1, 2] };
        if (prompt === 'none') return undefined;
        return `done ${prompt}`;
      },
      sync: (name, args) => {
        if (name === 'itemFailed') failed.push(args);
        return undefined;
      },
    };
    const outcome = await runSandboxed(
      `const early = agent('early');
await early;
const twice = agent('twice');
const seen = [];
const out = await parallel([
  () => agent('a'),
  () => agent('obj1'),
  () => agent('bad1'),
  () => twice,
  () => twice,
  () => early,
  () => { const first = agent('first'); agent('second'); return first; },
  () => agent('none'),
  () => agent('bad2').then((v) => v, (e) => { seen.push(e.message); throw e; }),
]);
return { out, seen };`,
      { host },
    );
    expect(outcome).toEqual({
      ok: true,
      value: {
        out: [
          'done a',
          { prompt: 'obj1', list: [1, 2] },
          null,
          'done twice',
          'done twice',
          'done early',
          'done first',
          null,
          null,
        ],
        seen: ['refused bad2'],
      },
    });
    expect(failed).toEqual([
      ['parallel item 2', 'refused bad1'],
      ['parallel item 8', 'refused bad2'],
    ]);
  });

  test("an item's result is what its promise resolves to, even with a then on Object.prototype", async () => {
    const host: HostBridge = {
      call: async (_name, args) => ({ prompt: String(args[0]) }),
      sync: () => undefined,
    };
    const outcome = await runSandboxed(
      `const out = await parallel([() => agent('a'), () => agent('b')]);
Object.prototype.then = function (resolve) { delete Object.prototype.then; resolve('adopted'); };
const adopted = await parallel([() => agent('c')]);
return [out, adopted];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: [[{ prompt: 'a' }, { prompt: 'b' }], ['adopted']] });
  });

  test('a script that puts accessors on Array.prototype places does not change its results', async () => {
    const { host } = recordingHost();
    const outcome = await runSandboxed(
      `let seen = '';
for (const place of [0, 1, 3, 4, 5]) {
  Object.defineProperty(Array.prototype, place, {
    get() { seen += 'g' + place + ' '; return { fulfilled() { throw new Error('forged'); }, watch() {} }; },
    set(v) { seen += 's' + place + ' '; },
    configurable: true,
  });
}
const out = await parallel([() => agent('a'), () => 2, () => agent('b')]);
for (const place of [0, 1, 3, 4, 5]) delete Array.prototype[place];
return [out[0], out[1], out[2]];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['done a', 2, 'done b'] });
  });
});
