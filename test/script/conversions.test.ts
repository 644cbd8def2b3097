import { describe, expect, test } from 'vitest';
import { GUEST_LIMITS, type HostBridge, type SandboxOptions } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

// Issue 9, hole 6: guest code that runs while the host converts a guest value (a thrown value, the
// result, a call's arguments, a log line) must be metered like any other guest code.

const CPU_MS = 300;

const run = (body: string, options: Partial<SandboxOptions> = {}) =>
  runSandboxed(body, { limits: { cpuMs: CPU_MS }, ...options });

/** Runs a hostile script and says how it ended and how long the host was held. */
async function contained(body: string, options: Partial<SandboxOptions> = {}) {
  const started = performance.now();
  const outcome = await run(body, options);
  return { outcome, ms: performance.now() - started };
}

const cpuCap = `the script used more than ${CPU_MS} ms of CPU time (is there an endless loop?)`;
const slowRead =
  /^reading the value the script threw did not finish within \d+ ms \(a getter, toString or toJSON on it that never returns\?\)$/;

describe('converting guest values runs under the CPU cap', () => {
  test('throwing an object whose toJSON never returns ends with a clear error', async () => {
    const { outcome, ms } = await contained(`throw { toJSON() { for (;;) {} } };`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
    if (!outcome.ok) expect(outcome.failure.message).toMatch(slowRead);
    expect(ms).toBeLessThan(10_000);
  });

  test('an Error whose message getter loops, thrown after an await', async () => {
    const { outcome } = await contained(
      `await agent('x');
const e = new Error('x');
Object.defineProperty(e, 'message', { get() { for (;;) {} } });
throw e;`,
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
    if (!outcome.ok) expect(outcome.failure.message).toMatch(slowRead);
  });

  test('a thrown Proxy whose every property read loops', async () => {
    const { outcome } = await contained(`throw new Proxy({}, { get() { for (;;) {} } });`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
  });

  test('a thrown value with a looping toString and no message', async () => {
    const { outcome } = await contained(`throw { toString() { for (;;) {} }, toJSON: undefined, x: 1n };`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'cpu' } });
  });

  test('a getter that throws is left out, and the rest of the error is read', async () => {
    const { outcome } = await contained(
      `const e = new TypeError('it broke');
Object.defineProperty(e, 'stack', { get() { throw new Error('no stack for you'); } });
throw e;`,
    );
    expect(outcome).toEqual({ ok: false, failure: { kind: 'error', message: 'TypeError: it broke' } });
  });

  test('a thrown plain object is shown as JSON', async () => {
    const { outcome } = await contained(`throw { code: 7 };`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'error', message: 'Error: {"code":7}' } });
  });

  test('a returned value whose toJSON loops hits the CPU cap', async () => {
    const { outcome } = await contained(`return { toJSON() { for (;;) {} } };`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a returned value whose getter loops hits the CPU cap', async () => {
    const { outcome } = await contained(`return { get x() { for (;;) {} } };`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('agent options with a looping getter hit the CPU cap; the host never sees the call', async () => {
    const calls: string[] = [];
    const host: HostBridge = {
      call: async (name) => {
        calls.push(name);
        return 'ok';
      },
      sync: () => undefined,
    };
    const { outcome } = await contained(`await agent('p', { get label() { for (;;) {} } });`, { host });
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
    expect(calls).toEqual([]);
  });

  test('a prompt whose toJSON loops hits the CPU cap', async () => {
    const { outcome } = await contained(`await agent({ toJSON() { for (;;) {} } });`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a log argument whose toJSON loops hits the CPU cap', async () => {
    const { outcome } = await contained(`log('x', { toJSON() { for (;;) {} } });`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a phase title whose toString loops hits the CPU cap', async () => {
    const { outcome } = await contained(`phase({ toString() { for (;;) {} } });`);
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a failing parallel() item whose message getter loops hits the CPU cap', async () => {
    const { outcome } = await contained(
      `await parallel([() => { const e = new Error(); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e; }]);`,
    );
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a setter on Error.prototype runs metered when a host call rejects into the guest', async () => {
    const host: HostBridge = {
      call: async () => {
        throw new Error('refused');
      },
      sync: () => undefined,
    };
    const { outcome } = await contained(
      `Object.defineProperty(Error.prototype, 'name', { set(v) { for (;;) {} }, get() { return 'E'; } });
try { await agent('x'); } catch (e) {}
return 1;`,
      { host },
    );
    expect(outcome).toEqual({ ok: false, failure: { kind: 'cpu', message: cpuCap } });
  });

  test('a script that replaces JSON.stringify cannot hand the host a non-string', async () => {
    const { outcome } = await contained(
      `JSON.stringify = () => ({ toString() { for (;;) {} } });
return 1;`,
    );
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error' } });
    if (!outcome.ok) expect(outcome.failure.message).toMatch(/did not finish with a readable result/);
  });

  test('after all of these the host still runs scripts', async () => {
    await contained(`throw { toJSON() { for (;;) {} } };`);
    expect(await run(`return 40 + 2;`)).toEqual({ ok: true, value: 42 });
  });
});

describe('guest values that reach the host are bounded in size', () => {
  test('a log line is cut with a note saying how much was cut', async () => {
    const lines: string[] = [];
    const host: HostBridge = {
      call: async () => null,
      sync: (name, args) => {
        if (name === 'log') lines.push(args[0] as string);
      },
    };
    const total = GUEST_LIMITS.logLine + 5000;
    const outcome = await run(`log('a'.repeat(${total})); log('short');`, { host });
    expect(outcome.ok).toBe(true);
    expect(lines[0]!.startsWith('a'.repeat(GUEST_LIMITS.logLine))).toBe(true);
    expect(lines[0]!.slice(GUEST_LIMITS.logLine)).toBe(
      ` … [log line cut: 5000 of ${total} characters not shown]`,
    );
    expect(lines[1]).toBe('short');
  });

  test('an agent prompt over the per-call limit is refused in the script, catchably', async () => {
    const seen: unknown[] = [];
    const host: HostBridge = {
      call: async (_name, args) => {
        seen.push(args);
        return 'ok';
      },
      sync: () => undefined,
    };
    const outcome = await run(
      `try { await agent('x'.repeat(${GUEST_LIMITS.call + 1})); } catch (e) { return e.name + ': ' + e.message; }`,
      { host },
    );
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.value).toMatch(
        /^RangeError: agent\(\): its arguments come to \d+ characters as JSON; the limit is 4194304 per call/,
      );
    }
    expect(seen).toEqual([]);
  });

  test('prompts held by calls in flight are capped all together', async () => {
    const host: HostBridge = { call: () => new Promise(() => {}), sync: () => undefined };
    const each = 3 * 1024 * 1024;
    const outcome = await run(
      `const big = 'x'.repeat(${each});
const started = [];
try { for (let i = 0; i < 100; i++) { started.push(agent(big + i)); } } catch (e) { return started.length + ' ' + e.message; }
return 'all started';`,
      { host, limits: { cpuMs: 10_000 } },
    );
    expect(outcome.ok).toBe(true);
    const fits = Math.floor(GUEST_LIMITS.held / (each + 8));
    if (outcome.ok) {
      expect(outcome.value).toMatch(
        new RegExp(`^${fits} agent\\(\\): the calls still in flight hold \\d+ characters`),
      );
      expect(outcome.value).toMatch(/Start fewer agents at a time/);
    }
  });

  test('a result over the limit is refused with a clear error', async () => {
    const outcome = await run(`return 'x'.repeat(${GUEST_LIMITS.result + 1});`, {
      limits: { cpuMs: 10_000 },
    });
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error' } });
    if (!outcome.ok) {
      expect(outcome.failure.message).toMatch(
        new RegExp(
          `^RangeError: the script returned \\d+ characters of JSON; the limit is ${GUEST_LIMITS.result}`,
        ),
      );
    }
  });

  test('a huge error message is cut', async () => {
    const outcome = await run(`throw new Error('m'.repeat(1e6));`);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.failure.message.length).toBeLessThan(GUEST_LIMITS.text + 200);
      expect(outcome.failure.message).toMatch(/\[message cut: \d+ of 1000000 characters not shown\]$/);
    }
  });

  test('a phase title over the limit is refused', async () => {
    const outcome = await run(`phase('p'.repeat(${GUEST_LIMITS.phase + 1}));`);
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(
      new RegExp(
        `phase\\(title\\): the title is ${GUEST_LIMITS.phase + 1} characters; the limit is ${GUEST_LIMITS.phase}`,
      ),
    );
  });
});

describe('the interrupt handler also stops a busy guest for', () => {
  test('the wall-clock cap, even in a tight loop that never yields to timers', async () => {
    const started = performance.now();
    const outcome = await run(`for (;;) {}`, { limits: { wallMs: 200, cpuMs: 60_000 } });
    expect(outcome).toEqual({
      ok: false,
      failure: { kind: 'wall', message: 'the run took longer than its wall-clock limit of 200 ms' },
    });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test('an abort raised while the guest runs (by a host call it made)', async () => {
    const stop = new AbortController();
    const host: HostBridge = {
      call: async () => null,
      sync: () => {
        stop.abort(new Error('stopped from inside'));
      },
    };
    const outcome = await run(`log('x'); for (;;) {}`, {
      host,
      signal: stop.signal,
      limits: { cpuMs: 60_000 },
    });
    expect(outcome).toEqual({ ok: false, failure: { kind: 'aborted', message: 'stopped from inside' } });
  });
});

describe("a host-level error inside the instance (V8's stack overflowing under QuickJS's frames)", () => {
  test('deep JSON.parse: a stack failure naming the cause, the instance dropped', async () => {
    const { outcome, ms } = await contained(`JSON.parse('['.repeat(200000));`);
    expect(ms).toBeLessThan(5000);
    expect(outcome).toMatchObject({
      ok: false,
      failure: { kind: 'stack', message: expect.stringMatching(/^the script overflowed the host's stack/) },
    });
  });

  test('a host call whose value the host cannot write is an error for that call, not a crash', async () => {
    const host: HostBridge = { call: async () => 10n, sync: () => undefined };
    const outcome = await run(`try { await agent('x'); } catch (e) { return e.message; }`, { host });
    expect(outcome).toMatchObject({ ok: true, value: expect.stringMatching(/BigInt/) });
  });
});
