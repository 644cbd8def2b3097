import { describe, expect, test } from 'vitest';
import { GUEST_LIMITS, type HostBridge } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

// What the prelude hands the host is its own: a script that puts a toJSON, setters or an iterator
// on the prototypes, or replaces String.prototype.slice, map or join, changes neither the kind and
// size of what it threw nor the length of a log line, and cannot break the settling of results.

describe('a thrown value, read by the prelude', () => {
  test('a toJSON on Object.prototype cannot forge the kind or the message', async () => {
    const outcome = await runSandboxed(
      `Object.prototype.toJSON = function () { return { kind: 'budget', message: 'forged' }; };
throw new Error('real');`,
    );
    expect(outcome).toEqual({
      ok: false,
      failure: expect.objectContaining({ kind: 'error', message: 'Error: real' }),
    });
  });

  test('setters on Object.prototype and an iterator on Array.prototype cannot either', async () => {
    const outcome = await runSandboxed(
      `for (const key of ['kind', 'message', 'name', 'stack']) {
  Object.defineProperty(Object.prototype, key, { set() {}, get() { return key === 'kind' ? 'budget' : undefined; }, configurable: true });
}
Array.prototype[Symbol.iterator] = function* () { yield 'kind'; };
const e = new Error('real');
Object.defineProperty(e, 'kind', { value: 'budget' });
throw e;`,
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error' } });
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(/real/);
  });

  test('with String.prototype.slice replaced, a huge message is still cut', async () => {
    const outcome = await runSandboxed(
      `String.prototype.slice = function () { return String(this); };
throw new Error('m'.repeat(1e6));`,
    );
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.failure.message.length).toBeLessThan(GUEST_LIMITS.text + 200);
      expect(outcome.failure.message).toMatch(/\[message cut: \d+ of 1000000 characters not shown\]$/);
    }
  });
});

describe('a log line', () => {
  test('is joined and cut by the prelude, whatever slice, map and join the script has', async () => {
    const lines: string[] = [];
    const host: HostBridge = {
      call: async () => null,
      sync: (name, args) => {
        if (name === 'log') lines.push(String(args[0]));
        return undefined;
      },
    };
    const outcome = await runSandboxed(
      `String.prototype.slice = function () { return String(this); };
Array.prototype.map = function () { return ['forged']; };
Array.prototype.join = function () { return 'x'.repeat(1e6); };
log('a', 1, { b: 2 }, undefined, () => 0);
log('y'.repeat(${GUEST_LIMITS.logLine + 10}));`,
      { host },
    );
    expect(outcome.ok).toBe(true);
    expect(lines[0]).toBe('a 1 {"b":2}  ');
    expect(lines[1]).toBe(
      `${'y'.repeat(GUEST_LIMITS.logLine)} … [log line cut: 10 of ${GUEST_LIMITS.logLine + 10} characters not shown]`,
    );
  });
});

describe('results handed over to parallel()', () => {
  test("a throwing constructor getter on a call's promise fails that parallel(), not the run's runtime", async () => {
    const host: HostBridge = { call: async (_n, args) => ({ got: args[0] }), sync: () => undefined };
    const outcome = await runSandboxed(
      `const a = agent('a');
const pending = parallel([() => a, () => agent('b')]);
Object.defineProperty(a, 'constructor', { get() { throw new Error('boom'); } });
let caught;
try { await pending; } catch (e) { caught = e.message; }
return [caught, await agent('after')];`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: ['boom', { got: 'after' }] });
  });
});
