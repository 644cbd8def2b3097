import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { PRELUDE } from './prelude.js';

/** The functions a script can reach; everything crosses the boundary as JSON. */
export interface HostBridge {
  call(name: string, args: unknown[]): Promise<unknown>;
  sync(name: string, args: unknown[]): unknown;
}

export interface SandboxLimits {
  /** Hard cap on the guest's heap: a fixed-size WebAssembly memory. */
  memoryBytes: number;
  /** Time spent executing guest code (not waiting for agents). */
  cpuMs: number;
  /** Time from start to finish, waiting included. */
  wallMs: number;
  stackBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 128 * 1024 * 1024,
  cpuMs: 60_000,
  wallMs: 6 * 60 * 60 * 1000,
  stackBytes: 256 * 1024,
};

export const MAX_LIST_ITEMS = 4096;

export type FailureKind = 'error' | 'memory' | 'cpu' | 'wall' | 'stack' | 'deadlock' | 'aborted';

export interface ScriptFailure {
  kind: FailureKind;
  message: string;
  line?: number;
  column?: number;
}

export type SandboxOutcome = { ok: true; value: unknown } | { ok: false; failure: ScriptFailure };

export interface SandboxOptions {
  /** The checked script body (see `checkScript`). */
  body: string;
  /** The name errors carry, e.g. `plan.js`. */
  file: string;
  args: unknown;
  budgetTotal: number | null;
  host: HostBridge;
  limits?: Partial<SandboxLimits>;
  signal?: AbortSignal;
  /** Called once the instance is set up, right before the script starts. */
  onStart?: () => void;
}

// Everything the wrapper adds stands on the script's first line, so line numbers are the author's.
const PREFIX = '(async function () {"use strict";';
const SUFFIX = `
})().then((v) => {
  try { return JSON.stringify({ v: v === undefined ? null : v }); }
  catch (e) { throw new TypeError('the script returned a value that cannot be saved as JSON: ' + e.message); }
})`;

const WASM_PAGE = 64 * 1024;

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

interface GuestError {
  name?: string;
  message?: string;
  stack?: string;
}

function locate(file: string, stack: string | undefined): { line: number; column: number } | undefined {
  if (!stack) return undefined;
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`\\(${escaped}:(\\d+):(\\d+)\\)`).exec(stack);
  if (!match) return undefined;
  const line = Number(match[1]);
  let column = Number(match[2]);
  if (line === 1) column = Math.max(1, column - PREFIX.length);
  return { line, column };
}

function toFailure(file: string, raw: unknown, limits: SandboxLimits): ScriptFailure {
  const err: GuestError =
    typeof raw === 'object' && raw !== null ? (raw as GuestError) : { message: String(raw) };
  const where = locate(file, err.stack);
  const name = err.name ?? 'Error';
  const message = err.message ?? String(raw);
  if (name === 'InternalError' && message === 'out of memory') {
    return {
      kind: 'memory',
      message: `the script ran out of memory (limit ${mib(limits.memoryBytes)}): keep less in variables, or process items in batches`,
      ...where,
    };
  }
  if (name === 'InternalError' && message === 'stack overflow') {
    return {
      kind: 'stack',
      message: `stack overflow: recursion too deep (stack limit ${limits.stackBytes / 1024} KiB)`,
      ...where,
    };
  }
  return { kind: 'error', message: `${name}: ${message}`, ...where };
}

/**
 * Runs a workflow script in a fresh QuickJS instance. Host calls run concurrently; the guest is
 * resumed after each one settles. The outcome is a value or a failure, never a thrown error, and
 * the instance is freed whatever happens.
 */
export async function runInSandbox(options: SandboxOptions): Promise<SandboxOutcome> {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const pages = Math.ceil(limits.memoryBytes / WASM_PAGE);
  // A fixed-size memory is the only hard cap: QuickJS's own memory limit is not enforced in this build.
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const quickjs = await newQuickJSWASMModuleFromVariant(
    newVariant(releaseSync as unknown as QuickJSSyncVariant, { wasmMemory }),
  );
  const runtime = quickjs.newRuntime();
  runtime.setMaxStackSize(limits.stackBytes);
  const ctx: QuickJSContext = runtime.newContext();

  let cpuUsed = 0;
  let sliceStart: number | undefined;
  let cpuExceeded = false;
  runtime.setInterruptHandler(() => {
    if (sliceStart !== undefined && cpuUsed + (performance.now() - sliceStart) > limits.cpuMs) {
      cpuExceeded = true;
      return true;
    }
    return false;
  });
  const inGuest = <T>(fn: () => T): T => {
    sliceStart = performance.now();
    try {
      return fn();
    } finally {
      cpuUsed += performance.now() - sliceStart;
      sliceStart = undefined;
    }
  };

  /** A guest value as host data; the handle is freed. */
  const take = (handle: QuickJSHandle): unknown => {
    const value = ctx.dump(handle);
    handle.dispose();
    return value;
  };
  const pending = new Set<QuickJSDeferredPromise>();
  const owned: QuickJSHandle[] = [];
  let done = false;
  let mainHandle: QuickJSHandle | undefined;

  const teardown = () => {
    for (const deferred of pending) deferred.dispose();
    pending.clear();
    try {
      mainHandle?.dispose();
      for (const handle of owned) handle.dispose();
      ctx.dispose();
      runtime.dispose();
    } catch {
      // A guest stopped mid-flight can leave objects QuickJS refuses to free; the whole wasm
      // instance is dropped with this function's scope, so nothing leaks into the host.
    }
  };

  return new Promise<SandboxOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      const reason = options.signal?.reason;
      finish({
        ok: false,
        failure: {
          kind: 'aborted',
          message: reason instanceof Error ? reason.message : String(reason ?? 'stopped'),
        },
      });
    };
    const finish = (outcome: SandboxOutcome) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      teardown();
      resolve(outcome);
    };
    const cpuFailure = (): SandboxOutcome => ({
      ok: false,
      failure: {
        kind: 'cpu',
        message: `the script used more than ${limits.cpuMs} ms of CPU time (is there an endless loop?)`,
      },
    });

    const pump = () => {
      if (done) return;
      const jobs = inGuest(() => runtime.executePendingJobs());
      if (cpuExceeded) return finish(cpuFailure());
      if (jobs.error)
        return finish({ ok: false, failure: toFailure(options.file, take(jobs.error), limits) });
      const state = ctx.getPromiseState(mainHandle!);
      if (state.type === 'fulfilled') {
        const json = ctx.getString(state.value);
        state.value.dispose();
        return finish({ ok: true, value: (JSON.parse(json) as { v: unknown }).v });
      }
      if (state.type === 'rejected') {
        return finish({ ok: false, failure: toFailure(options.file, take(state.error), limits) });
      }
      if (pending.size === 0) {
        finish({
          ok: false,
          failure: {
            kind: 'deadlock',
            message:
              'the script is waiting for a promise that can never settle (no agent or other call is in flight)',
          },
        });
      }
    };

    const settle = (deferred: QuickJSDeferredPromise, outcome: { value?: unknown; error?: unknown }) => {
      if (done || !pending.delete(deferred)) return;
      if ('error' in outcome) {
        const e = outcome.error as { name?: unknown; message?: unknown };
        const handle = ctx.newError({
          name: typeof e?.name === 'string' ? e.name : 'Error',
          message: typeof e?.message === 'string' ? e.message : String(outcome.error),
        });
        deferred.reject(handle);
        handle.dispose();
      } else if (outcome.value === undefined) {
        deferred.resolve();
      } else {
        const handle = ctx.newString(JSON.stringify(outcome.value));
        deferred.resolve(handle);
        handle.dispose();
      }
      pump();
    };

    const callFn = ctx.newFunction('call', (nameHandle, argsHandle) => {
      const name = ctx.getString(nameHandle);
      const args = JSON.parse(ctx.getString(argsHandle)) as unknown[];
      const deferred = ctx.newPromise();
      pending.add(deferred);
      let started: Promise<unknown>;
      try {
        started = options.host.call(name, args);
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        (value) => settle(deferred, { value }),
        (error: unknown) => settle(deferred, { error }),
      );
      return deferred.handle;
    });
    const syncFn = ctx.newFunction('sync', (nameHandle, argsHandle) => {
      const name = ctx.getString(nameHandle);
      const args = JSON.parse(ctx.getString(argsHandle)) as unknown[];
      const value = options.host.sync(name, args);
      return value === undefined ? ctx.undefined : ctx.newString(JSON.stringify(value));
    });
    owned.push(callFn, syncFn);

    const setupFailed = (error: QuickJSHandle) =>
      finish({
        ok: false,
        failure: { kind: 'error', message: `runtime setup failed: ${JSON.stringify(take(error))}` },
      });
    const setup = ctx.evalCode(PRELUDE, 'dwf:runtime');
    if (setup.error) return setupFailed(setup.error);
    const installer = setup.value;
    owned.push(installer);
    // `args` is undefined, not null, when the run was given none.
    const argsJson = options.args === undefined ? ctx.undefined : ctx.newString(JSON.stringify(options.args));
    const total = options.budgetTotal === null ? ctx.null : ctx.newNumber(options.budgetTotal);
    const maxList = ctx.newNumber(MAX_LIST_ITEMS);
    owned.push(maxList);
    if (options.args !== undefined) owned.push(argsJson);
    if (options.budgetTotal !== null) owned.push(total);
    const installed = ctx.callFunction(installer, ctx.undefined, callFn, syncFn, argsJson, total, maxList);
    if (installed.error) return setupFailed(installed.error);
    installed.value.dispose();

    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => {
      finish({
        ok: false,
        failure: {
          kind: 'wall',
          message: `the run took longer than its wall-clock limit of ${limits.wallMs} ms`,
        },
      });
    }, limits.wallMs);

    options.onStart?.();
    const evaluated = inGuest(() => ctx.evalCode(`${PREFIX}${options.body}${SUFFIX}`, options.file));
    if (cpuExceeded) return finish(cpuFailure());
    if (evaluated.error)
      return finish({ ok: false, failure: toFailure(options.file, take(evaluated.error), limits) });
    mainHandle = evaluated.value;
    pump();
  });
}
