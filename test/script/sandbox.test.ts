import { describe, expect, test } from 'vitest';
import { checkScript } from '../../src/script/check.js';
import { type HostBridge, runInSandbox } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

const quietHost: HostBridge = {
  call: async () => null,
  sync: () => undefined,
};

const run = runSandboxed;

describe('the sandbox', () => {
  test('returns the script value and reaches host calls concurrently', async () => {
    let inFlight = 0;
    let peak = 0;
    const host: HostBridge = {
      async call(name, args) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return { name, prompt: args[0] };
      },
      sync: () => undefined,
    };
    const started = performance.now();
    const outcome = await run(
      `const all = await Promise.all(Array.from({ length: 200 }, (_, i) => agent('p' + i)));
return { n: all.length, last: all[199] };`,
      { host },
    );
    expect(outcome).toEqual({ ok: true, value: { n: 200, last: { name: 'agent', prompt: 'p199' } } });
    expect(peak).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('a runtime error points at the script line and column', async () => {
    // QuickJS points at the failing property access: the dot of null.x.
    const outcome = await run(`const a = 1;\n\nnull.x;`);
    expect(outcome).toEqual({
      ok: false,
      failure: { kind: 'error', message: "TypeError: cannot read property 'x' of null", line: 4, column: 5 },
    });
  });

  test('errors on the first line are not shifted by the wrapper', async () => {
    const checked = checkScript(`export const meta = { name: 'n', description: 'd' }; null.x;`);
    if (!checked.ok) throw new Error('invalid');
    const outcome = await runInSandbox({
      body: checked.body,
      file: 'plan.js',
      args: null,
      budgetTotal: null,
      host: quietHost,
    });
    expect(outcome.ok ? undefined : outcome.failure).toMatchObject({ line: 1, column: 58 });
  });

  test.each([
    ['Date.now()', 'return Date.now();'],
    ['Math.random()', 'return Math.random();'],
    ['new Date()', 'return new Date();'],
    ['Date()', 'return Date();'],
  ])('%s throws so that runs replay', async (_what, body) => {
    const outcome = await run(body);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok)
      expect(outcome.failure.message).toMatch(/not available in workflow scripts: runs must replay/);
  });

  test('new Date(x) works and dates behave as dates', async () => {
    const outcome = await run(
      `const d = new Date(0); return [d.toISOString(), d instanceof Date, new Date('2026-01-02T00:00:00Z').getUTCDate(), Date.UTC(2020, 0, 1)];`,
    );
    expect(outcome).toEqual({ ok: true, value: ['1970-01-01T00:00:00.000Z', true, 2, 1577836800000] });
  });

  test('the constructor chain does not reach the host', async () => {
    const outcome = await run(`return agent.constructor.constructor('return process')();`);
    expect(outcome).toMatchObject({
      ok: false,
      failure: { kind: 'error', message: "ReferenceError: 'process' is not defined" },
    });
  });

  test('no module loading, not even through eval or Function', async () => {
    const outcome = await run(`return await new Function("return import('fs')")();`);
    expect(outcome.ok).toBe(false);
    const fromEval = await run(`return typeof require + typeof process + typeof fetch + typeof setTimeout;`);
    expect(fromEval).toEqual({ ok: true, value: 'undefinedundefinedundefinedundefined' });
  });

  test('an endless loop is stopped by the CPU cap and cannot be caught', async () => {
    const outcome = await run(`while (true) { try { while (true) {} } catch (e) {} }`, {
      limits: { cpuMs: 200 },
    });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        kind: 'cpu',
        message: 'the script used more than 200 ms of CPU time (is there an endless loop?)',
      },
    });
  });

  test('a memory bomb hits the hard memory cap', async () => {
    const before = process.memoryUsage().rss;
    const outcome = await run(`const a = []; while (true) a.push(new Array(100000).fill(1));`, {
      limits: { memoryBytes: 32 * 1024 * 1024 },
    });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.failure.kind).toBe('memory');
      expect(outcome.failure.message).toMatch(/ran out of memory \(limit 32 MiB\)/);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  test('deep recursion is a stack overflow, not a host crash', async () => {
    const outcome = await run(`function f(n) { return f(n + 1) + 1; }\nreturn f(0);`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'stack', line: 2 } });
  });

  test('the wall-clock cap ends a script that waits too long', async () => {
    const host: HostBridge = { call: () => new Promise((r) => setTimeout(r, 5000)), sync: () => undefined };
    const outcome = await run(`await agent('slow');`, { host, limits: { wallMs: 100 } });
    expect(outcome).toEqual({
      ok: false,
      failure: { kind: 'wall', message: 'the run took longer than its wall-clock limit of 100 ms' },
    });
  });

  test('a promise that can never settle is reported, not waited on forever', async () => {
    const outcome = await run(`await new Promise(() => {});`);
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'deadlock' } });
  });

  test('an abort signal stops the script with its reason', async () => {
    const stop = new AbortController();
    const host: HostBridge = { call: () => new Promise((r) => setTimeout(r, 5000)), sync: () => undefined };
    setTimeout(() => stop.abort(new Error('stopped by SIGINT')), 30);
    const outcome = await run(`await agent('slow');`, { host, signal: stop.signal });
    expect(outcome).toEqual({ ok: false, failure: { kind: 'aborted', message: 'stopped by SIGINT' } });
  });

  test('a return value that is not JSON is a clear error', async () => {
    const outcome = await run(`const a = {}; a.self = a; return a;`);
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(
      /returned a value that cannot be saved as JSON/,
    );
  });

  test('host call rejections reach the script as catchable errors with their name', async () => {
    const host: HostBridge = {
      call: async () => {
        const e = new Error('no more tokens');
        e.name = 'BudgetExhaustedError';
        throw e;
      },
      sync: () => undefined,
    };
    const outcome = await run(`try { await agent('x'); } catch (e) { return e.name + ': ' + e.message; }`, {
      host,
    });
    expect(outcome).toEqual({ ok: true, value: 'BudgetExhaustedError: no more tokens' });
  });

  test('the host stays healthy after hostile scripts', async () => {
    await run(`while (true) {}`, { limits: { cpuMs: 50 } });
    await run(`const a = []; while (true) a.push('x'.repeat(1e5));`, {
      limits: { memoryBytes: 16 * 1024 * 1024 },
    });
    await run(`function f() { return f(); } f();`);
    expect(await run(`return 1 + 1;`)).toEqual({ ok: true, value: 2 });
  });
});
