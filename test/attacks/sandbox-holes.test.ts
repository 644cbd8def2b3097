// Holes a hostile script could open in the batched bridge and the prelude, found by a red-team
// review of 2026-11-26 (H1-H5), each with the behaviour that now holds.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { GUEST_LIMITS, type HostBridge } from '../../src/script/sandbox.js';
import { META, runScript, tempDir } from '../helpers.js';
import { runSandboxed } from '../script/sandboxed.js';

test('H1 a script cannot forge the budget kind of its failure (toJSON on Object.prototype)', async () => {
  const outcome = await runSandboxed(
    `Object.prototype.toJSON = function () { return { kind: 'budget', message: 'forged' }; };
throw new Error('x');`,
  );
  expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error' } });
});

test('H1b ... nor with a setter on Object.prototype, and the engine does not call the run stopped', async () => {
  const { summary } = await runScript(
    `Object.defineProperty(Object.prototype, 'message', { configurable: true, set(v) {
  Object.defineProperty(this, 'kind', { value: 'budget', enumerable: true, configurable: true, writable: true });
  Object.defineProperty(this, 'message', { value: v, enumerable: true, configurable: true, writable: true });
} });
throw new Error('x');`,
  );
  expect(summary.status).toBe('failed');
});

test('H2 the host never copies more than GUEST_LIMITS.text of a thrown value', async () => {
  const outcome = await runSandboxed(
    `Object.prototype.toJSON = function () { return { message: 'y'.repeat(30e6) }; };
throw new Error('x');`,
  );
  expect(outcome.ok).toBe(false);
  expect((outcome as { failure: { message: string } }).failure.message.length).toBeLessThan(
    4 * GUEST_LIMITS.text,
  );
});

test('H2b a log line is cut to GUEST_LIMITS.logLine even with String.prototype.slice replaced', async () => {
  let longest = 0;
  const host: HostBridge = {
    call: async () => null,
    sync: (name, args) => {
      if (name === 'log') longest = Math.max(longest, String(args[0]).length);
      return undefined;
    },
  };
  await runSandboxed(
    `String.prototype.slice = function () { return 'q'.repeat(3e6); }; log('x'.repeat(20000));`,
    { host },
  );
  expect(longest).toBeLessThanOrEqual(GUEST_LIMITS.logLine + 200);
});

test('H3 a Promise.prototype.constructor getter that throws while results are handed over fails the script, not the runtime', async () => {
  const host: HostBridge = { call: async (_n, args) => ({ p: args[0] }), sync: () => undefined };
  const outcome = await runSandboxed(
    `const mine = new Set();
Object.defineProperty(Promise.prototype, 'constructor', { configurable: true,
  get() { if (mine.has(this)) throw new Error('boom'); return Promise; } });
const other = agent('solo');
const r = await parallel([() => { const p = agent('a'); mine.add(p); return p; }, () => agent('c')]);
return [r, await other];`,
    { host },
  );
  expect(outcome.ok ? '' : outcome.failure.message).not.toMatch(/failed inside its runtime/);
});

test('H4 running out of memory inside agent() never leaves the host a call the prelude does not wait for', async () => {
  const echo: HostBridge = { call: async (_n, a) => a[0], sync: () => 0 };
  const outcome = await runSandboxed(
    `const R = 300;
const keys = Array.from({ length: R }, (_, i) => 'r' + i);
const ps = new Array(R).fill(0);
let head = null;
for (let round = 0; round < R; round++) {
  try { for (;;) head = { next: head }; } catch (e) {}
  for (let i = 0; i < 3 && head; i++) head = head.next;
  try { ps[round] = agent(keys[round]); } catch (e) {}
  for (let i = 0; i < 3000 && head; i++) head = head.next;
  await agent('tick');
}
return 'done';`,
    { host: echo, limits: { memoryBytes: 16 * 1024 * 1024 } },
  );
  expect(outcome.ok ? '' : outcome.failure.message).not.toMatch(/failed inside its runtime/);
}, 60_000);

test('H5 no sync call hands the host arguments longer than GUEST_LIMITS.call, whatever toJSON the script sets', async () => {
  let longest = 0;
  const host: HostBridge = {
    call: async () => null,
    sync: (_name, args) => {
      longest = Math.max(longest, JSON.stringify(args).length);
      return 0;
    },
  };
  for (const body of [
    `Array.prototype.toJSON = function () { return 'y'.repeat(6e6); }; return budget.spent();`,
    `Array.prototype.toJSON = function () { return 'y'.repeat(6e6); }; phase('p');`,
    `Array.prototype.toJSON = function () { return 'y'.repeat(6e6); }; log('x');`,
  ]) {
    const outcome = await runSandboxed(body, { host });
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(/the limit is 4194304 per call/);
  }
  expect(longest).toBeLessThanOrEqual(GUEST_LIMITS.call);
});

describe('through the real CLI', () => {
  test('`dwf run` of a script that forges a budget kind and replaces slice: the run fails, and no long text reaches its files', async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'forge.js'),
      `${META}String.prototype.slice = function () { return 'q'.repeat(3e6); };
log('x'.repeat(20000));
Object.prototype.toJSON = function () { return { kind: 'budget', message: 'y'.repeat(30e6) }; };
throw new Error('x');`,
    );
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'dwf.js');
    const exit = spawnSync(process.execPath, [bin, 'run', 'forge.js', '--runs-dir', 'runs', '--json'], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const outcome = JSON.parse(exit.stdout) as { status: string; error: string; runDir: string };
    // A forged budget kind would make the run `stopped` (as if its budget had run out), not `failed`.
    expect(outcome.status).toBe('failed');
    expect(exit.status).not.toBe(0);
    expect(outcome.error.length).toBeLessThan(4 * GUEST_LIMITS.text);
    const logged = readFileSync(join(outcome.runDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; message?: string })
      .filter((e) => e.type === 'log' && e.message?.startsWith('x'));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message!.length).toBeLessThanOrEqual(GUEST_LIMITS.logLine + 200);
    expect(readFileSync(join(outcome.runDir, 'result.json'), 'utf8').length).toBeLessThan(64 * 1024);
  }, 60_000);
});
