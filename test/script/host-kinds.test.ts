import { describe, expect, test } from 'vitest';
import { type HostBridge, HostError, type HostFunctions, hostBridge } from '../../src/script/host.js';
import { PRELUDE } from '../../src/script/prelude.js';
import type { SandboxOptions } from '../../src/script/sandbox.js';
import { runSandboxed } from './sandboxed.js';

/** A host whose `agent()` rejects with a budget error. */
const refusing: HostBridge = {
  call: async () => {
    const e = new HostError('agent() refused: token budget exhausted', 'budget');
    e.name = 'BudgetExhaustedError';
    throw e;
  },
  sync: () => undefined,
};

const run = (body: string, options: Partial<SandboxOptions> = {}) =>
  runSandboxed(body, { host: refusing, ...options });

const failureOf = async (body: string) => {
  const outcome = await run(body);
  if (outcome.ok) throw new Error('the script did not fail');
  return outcome.failure;
};

describe('errors that cross the sandbox carry a kind', () => {
  test('an uncaught host error ends the script with its kind; the message is as before', async () => {
    const failure = await failureOf(`await agent('x');`);
    expect(failure.kind).toBe('budget');
    expect(failure.message).toBe('BudgetExhaustedError: agent() refused: token budget exhausted');
  });

  test('the kind stays with the same error when it is caught and thrown again', async () => {
    expect((await failureOf(`try { await agent('x'); } catch (e) { throw e; }`)).kind).toBe('budget');
  });

  test('a new error with the same text has no kind, and a script cannot forge one', async () => {
    expect(
      (await failureOf(`try { await agent('x'); } catch (e) { throw new Error(String(e)); }`)).kind,
    ).toBe('error');
    expect(
      (await failureOf(`throw { name: 'BudgetExhaustedError', message: 'x', kind: 'budget' };`)).kind,
    ).toBe('error');
    const forged = await failureOf(
      `WeakMap.prototype.get = () => 'budget'; Reflect.apply = () => 'budget'; throw new Error('x');`,
    );
    expect(forged.kind).toBe('error');
  });

  test('an error without a kind, or with an unknown one, is a script error', async () => {
    const host: HostBridge = {
      call: async () => {
        throw Object.assign(new Error('nope'), { kind: 'made-up' });
      },
      sync: () => undefined,
    };
    const outcome = await run(`await agent('x');`, { host });
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'error', message: 'Error: nope' } });
  });
});

describe('the host functions', () => {
  const names = (functions: Record<string, unknown>) => Object.keys(functions).sort();
  const table: HostFunctions = {
    call: { agent: async () => 'a', workflow: async () => 'w', oracle: async () => 'o' },
    sync: {
      phase: () => {},
      log: () => {},
      itemFailed: () => {},
      budgetSpent: () => 1,
      budgetRemaining: () => null,
      shard: (args) => args,
    },
  };

  test('are the ones the prelude calls, by the same names', () => {
    const called = (fn: string) =>
      [...PRELUDE.matchAll(new RegExp(`${fn}\\('(\\w+)'`, 'g'))].map((m) => m[1]).sort();
    expect(called('invoke')).toEqual(names(table.call));
    expect([...new Set([...called('invokeSync'), ...called('hostSync')])].sort()).toEqual(names(table.sync));
  });

  test('reach the script through the bridge; an unknown name is refused', async () => {
    const bridge = hostBridge(table);
    expect(await bridge.call('oracle', [])).toBe('o');
    expect(bridge.sync('budgetSpent', [])).toBe(1);
    await expect(bridge.call('toString', [])).rejects.toThrow('unknown host call toString');
    expect(() => bridge.sync('constructor', [])).toThrow('unknown host call constructor');
    const outcome = await run(`return [await agent('x'), await oracle(), budget.spent()];`, { host: bridge });
    expect(outcome).toEqual({ ok: true, value: ['a', 'o', 1] });
  });
});
