/**
 * The sandbox's front: `runInSandbox`, and every name the rest of the product imports from here.
 * The parts sit beside it: `limits.ts` (the caps), `instance.ts` (a fresh QuickJS instance),
 * `meter.ts` (slices, the interrupt handler, SIGINT), `host-calls.ts` (the bridge of host calls
 * and their promises), `script-run.ts` (one run: turns, thrown values, teardown), `program.ts`
 * (the wrapper and the result), `failures.ts` (how a run ends badly).
 */

import type { SandboxOutcome } from './failures.js';
import { newInstance } from './instance.js';
import { DEFAULT_LIMITS, type SandboxLimits } from './limits.js';
import type { SandboxOptions } from './sandbox-options.js';
import { ScriptRun } from './script-run.js';

export type { FailureKind, SandboxOutcome, ScriptFailure } from './failures.js';
/** The bridge's type, where it was before host.ts. */
export type { HostBridge } from './host.js';
export {
  CONVERSION_MS,
  DEFAULT_LIMITS,
  GUEST_LIMITS,
  HOST_STACK_DEPTH,
  MAX_LIST_ITEMS,
  MAX_RESULT_DEPTH,
  type SandboxLimits,
} from './limits.js';
export { jsonDepth } from './program.js';
export type { GuestTurns, SandboxOptions } from './sandbox-options.js';

/**
 * Runs a workflow script in a fresh QuickJS instance. Host calls run concurrently; the guest is
 * resumed after each one settles. The outcome is a value or a failure, never a thrown error, and
 * the instance is freed whatever happens.
 *
 * Every touch of the instance runs in a slice while the interrupt handler meters it: outside a
 * slice the handler stops any guest code at once, so no getter, `toJSON` or setter of the script
 * ever runs unmetered. Guest values reach the host only as strings made by the prelude.
 */
export async function runInSandbox(options: SandboxOptions): Promise<SandboxOutcome> {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { runtime, ctx } = await newInstance(limits);
  return new Promise<SandboxOutcome>((resolve) => {
    const run = new ScriptRun(runtime, ctx, options, limits, resolve);
    run.guarded(() => run.start());
  });
}
