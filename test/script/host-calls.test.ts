import { describe, expect, test } from 'vitest';
import type { HostBridge } from '../../src/script/sandbox.js';
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
