import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { type HostBridge, type HostErrorKind, hostErrorKind, isHostErrorKind } from './host.js';
import { PRELUDE } from './prelude.js';

/** The bridge's type, where it was before host.ts. */
export type { HostBridge } from './host.js';

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

/**
 * Sizes of what a script hands the host, in characters. A guest value reaches host memory only
 * as a string no longer than these, so no script can grow the host's heap past its own cap.
 */
export const GUEST_LIMITS = {
  /** Items in one `parallel()` or `pipeline()` list. */
  list: MAX_LIST_ITEMS,
  /** One `log()` line; longer lines are cut with a note saying how much. */
  logLine: 16 * 1024,
  /** A `phase()` title; also each string option of `agent()` (label, phase, model, …), kept per agent. */
  phase: 1000,
  /** The arguments of one `agent()`, `workflow()` or `oracle()` call, as JSON. */
  call: 4 * 1024 * 1024,
  /** The arguments of all the calls the host holds at once (queued or running). */
  held: 64 * 1024 * 1024,
  /** The script's result, as JSON. */
  result: 8 * 1024 * 1024,
  /** An error's name, message or stack. */
  text: 4 * 1024,
} as const;

/** How long reading a thrown value may take; it also counts against the CPU cap. */
export const CONVERSION_MS = 1000;

/**
 * What ended a script: its own error, a cap (`memory`, `cpu`, `wall`, `stack`), a wait that can
 * never end, a stop of the run, or an uncaught host error with a kind (see HostErrorKind).
 */
export type FailureKind =
  | 'error'
  | 'memory'
  | 'cpu'
  | 'wall'
  | 'stack'
  | 'deadlock'
  | 'aborted'
  | HostErrorKind;

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
  /**
   * Called right before the guest's pending jobs run, that is before the script sees any result
   * handed to it since the last time: the run flushes its journal here (see `JsonLines`).
   */
  beforeGuest?: () => void;
  /** Counts guest turns scheduled and not yet run, across the sandboxes that share it. */
  guestTurns?: GuestTurns;
}

/**
 * Guest turns waiting for their macrotask. Host calls that settle in one turn of the event loop
 * are handed to the guest together, in one later macrotask (one `executePendingJobs` for all);
 * the host reads this to know whether the script has reacted to everything handed to it yet.
 */
export interface GuestTurns {
  pending: number;
}

// Everything the wrapper adds stands on the script's first line, so line numbers are the author's.
// The result becomes JSON in the guest, under the CPU cap, and is refused there when too large.
const PREFIX = '(async function () {"use strict";';
const SUFFIX = `
})().then((v) => {
  let json;
  try { json = JSON.stringify({ v: v === undefined ? null : v }); }
  catch (e) { throw new TypeError('the script returned a value that cannot be saved as JSON: ' + e.message); }
  if (typeof json === 'string' && json.length > ${GUEST_LIMITS.result}) {
    throw new RangeError('the script returned ' + json.length + ' characters of JSON; the limit is ${GUEST_LIMITS.result}: return a summary and let agents write the details to files');
  }
  return json;
})`;

const WASM_PAGE = 64 * 1024;

/**
 * QuickJS's WebAssembly, compiled once per process: every sandbox is a fresh instance with its own
 * memory, but the machine code (and V8's optimised tier of it) is shared, instead of compiled again
 * for each run and nested workflow. The file sits in the package, or beside the bundled action;
 * when neither can be read, each instance compiles its own, as the loader does by default.
 */
type CompiledWasm = NonNullable<Parameters<typeof newVariant>[1]['wasmModule']>;
/** `WebAssembly.compile`, which this project's type libraries leave out. */
const compileWasm = (WebAssembly as unknown as { compile(bytes: Uint8Array): Promise<CompiledWasm> }).compile;
let compiled: Promise<CompiledWasm | undefined> | undefined;
function quickjsWasm(): Promise<CompiledWasm | undefined> {
  compiled ??= (async () => {
    const places: Array<() => string | URL> = [
      () => createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm'),
      () => new URL('emscripten-module.wasm', import.meta.url),
    ];
    for (const place of places) {
      try {
        return await compileWasm(readFileSync(place()));
      } catch {
        // the next place, or the loader's own
      }
    }
    return undefined;
  })();
  return compiled;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/**
 * Ctrl-C during a guest slice. Node runs a SIGINT handler only from its event loop, which a
 * script in a tight loop never gives back; so while the host has a SIGINT handler, each slice runs
 * under Node's SIGINT watchdog (`vm` `breakOnSigint`: a thread that terminates the running code,
 * wasm included), which ends the slice at once. The instance is then dropped untouched and the
 * signal raised again, so the host's own handler sees it as usual. Without a handler SIGINT's
 * default action ends the process anyway, and slices run directly: the watchdog costs about
 * 0.1–0.3 ms a slice (a thread, and Node detaches and re-attaches the SIGINT listeners around it;
 * a Ctrl-C landing in those few microseconds quits at once, as a second Ctrl-C would).
 */
const SLICE = Symbol.for('dynamic-workflows.sandbox.slice');
const sliceRunner = new vm.Script(`globalThis[Symbol.for('dynamic-workflows.sandbox.slice')]()`, {
  filename: 'dwf:sandbox-slice',
});

class SliceInterrupted extends Error {}

function runSlice<T>(fn: () => T): T {
  if (process.listenerCount('SIGINT') === 0) return fn();
  const slot = globalThis as unknown as Record<symbol, unknown>;
  const previous = slot[SLICE];
  slot[SLICE] = fn;
  try {
    return sliceRunner.runInThisContext({ breakOnSigint: true }) as T;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
      throw new SliceInterrupted('stopped by SIGINT');
    }
    throw error;
  } finally {
    slot[SLICE] = previous;
  }
}

interface GuestError {
  name?: string;
  message?: string;
  stack?: string;
  /** The kind of a host call's error (see HostErrorKind), as the prelude recorded it. */
  kind?: string;
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

function toFailure(file: string, err: GuestError, limits: SandboxLimits): ScriptFailure {
  const where = locate(file, err.stack);
  const name = err.name ?? 'Error';
  const message = err.message ?? 'unknown error';
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
  return { kind: isHostErrorKind(err.kind) ? err.kind : 'error', message: `${name}: ${message}`, ...where };
}

/**
 * Nesting depth past which converting a value can overflow the host's own stack. QuickJS's
 * `JSON.parse` and `JSON.stringify` do check its stack limit, but they use so little of its stack
 * per level (and so much of V8's, where the wasm frames live) that V8's stack gives out first:
 * measured on Node 20, at about 5,400 levels for `JSON.stringify` and 9,600 for `JSON.parse` at
 * the 256 KiB limit. A lower limit would catch those, but would also cut ordinary recursion from
 * about 1,300 calls to 340 and still leave V8 little margin; so such a crash is caught instead.
 */
export const HOST_STACK_DEPTH = 5000;

/** How deeply the script's result may nest: the host's own JSON.stringify gives out at about 4,000. */
export const MAX_RESULT_DEPTH = 1000;

/** How deeply arrays and objects nest in a JSON text, in one pass (strings skipped). */
export function jsonDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}

/** At most this much of a host error's text is shown. */
const CRASH_TEXT = 500;

/**
 * The failure for a host-level error in the instance (anything but our own interrupt): V8's stack
 * overflowing under wasm frames, a wasm trap, or a fault of the runtime. The instance was cut off
 * mid-call and is never touched again.
 */
function crashFailure(error: unknown): ScriptFailure {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = 'an unreadable error';
  }
  if (text.length > CRASH_TEXT) text = `${text.slice(0, CRASH_TEXT)} …`;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return {
      kind: 'stack',
      message:
        `the script overflowed the host's stack (${text}), most likely while converting a deeply nested ` +
        `value: JSON.parse, JSON.stringify or the script's result with arrays or objects nested more than ` +
        `about ${HOST_STACK_DEPTH} levels deep. Keep values far shallower than that (flatten them, ` +
        'or pass them in pieces); the script was stopped',
    };
  }
  return {
    kind: 'error',
    message: `the script's sandbox failed inside its runtime (${text}); the script was stopped`,
  };
}

/** Why the interrupt handler stopped the guest, if it did. */
type Stop = 'cpu' | 'wall' | 'conversion' | 'aborted';

/**
 * Runs a workflow script in a fresh QuickJS instance. Host calls run concurrently; the guest is
 * resumed after each one settles. The outcome is a value or a failure, never a thrown error, and
 * the instance is freed whatever happens.
 *
 * Every touch of the instance runs in a slice (`inGuest`) while the interrupt handler meters it:
 * outside a slice the handler stops any guest code at once, so no getter, `toJSON` or setter of the
 * script ever runs unmetered. Guest values reach the host only as strings made by the prelude.
 */
export async function runInSandbox(options: SandboxOptions): Promise<SandboxOutcome> {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const pages = Math.ceil(limits.memoryBytes / WASM_PAGE);
  // A fixed-size memory is the only hard cap: QuickJS's own memory limit is not enforced in this build.
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const wasmModule = await quickjsWasm();
  const quickjs = await newQuickJSWASMModuleFromVariant(
    newVariant(releaseSync as unknown as QuickJSSyncVariant, {
      wasmMemory,
      ...(wasmModule ? { wasmModule } : {}),
    }),
  );
  const runtime = quickjs.newRuntime();
  runtime.setMaxStackSize(limits.stackBytes);
  const ctx: QuickJSContext = runtime.newContext();

  const wallDeadline = performance.now() + limits.wallMs;
  let cpuUsed = 0;
  let sliceStart: number | undefined;
  /** A tighter deadline for the current slice (reading a thrown value). */
  let sliceDeadline: number | undefined;
  let stopped: Stop | undefined;
  /** The time the current reading of a thrown value may take: the rest of the CPU cap, at most CONVERSION_MS. */
  let conversionMs = CONVERSION_MS;
  /**
   * The instance was cut off mid-call (SIGINT, or a host-level error such as V8's stack overflowing
   * under its frames): it must not be touched again, not even to free it.
   */
  let poisoned = false;
  runtime.setInterruptHandler(() => {
    if (stopped) return true;
    // Guest code outside a slice is never allowed to run: it would not be metered.
    if (sliceStart === undefined) return true;
    const now = performance.now();
    const overCpu = cpuUsed + (now - sliceStart) > limits.cpuMs;
    if (sliceDeadline !== undefined && (overCpu || now > sliceDeadline)) stopped = 'conversion';
    else if (overCpu) stopped = 'cpu';
    else if (now > wallDeadline) stopped = 'wall';
    else if (options.signal?.aborted) stopped = 'aborted';
    return stopped !== undefined;
  });
  const inGuest = <T>(fn: () => T, deadlineMs?: number): T => {
    const outer = sliceStart;
    const start = performance.now();
    if (outer === undefined) sliceStart = start;
    const outerDeadline = sliceDeadline;
    if (deadlineMs !== undefined) sliceDeadline = Math.min(outerDeadline ?? Infinity, start + deadlineMs);
    try {
      return outer === undefined ? runSlice(fn) : fn();
    } finally {
      sliceDeadline = outerDeadline;
      if (outer === undefined) {
        cpuUsed += performance.now() - start;
        sliceStart = undefined;
      }
    }
  };

  const pending = new Set<QuickJSDeferredPromise>();
  const owned: QuickJSHandle[] = [];
  let done = false;
  let mainHandle: QuickJSHandle | undefined;
  let describer: QuickJSHandle | undefined;
  /** The prelude's function that records the kind of a host call's error (see HostErrorKind). */
  let tagger: QuickJSHandle | undefined;
  /** Characters of call arguments the host holds for calls not yet settled. */
  let held = 0;

  const teardown = () => {
    // A guest cut off mid-flight leaves objects QuickJS refuses to free (it aborts, loudly): the
    // whole wasm instance is dropped with this function's scope instead.
    if (poisoned || stopped) return;
    try {
      inGuest(() => {
        for (const deferred of pending) deferred.dispose();
        pending.clear();
        mainHandle?.dispose();
        for (const handle of owned) handle.dispose();
        ctx.dispose();
        runtime.dispose();
      });
    } catch {
      // Same as above: nothing of the instance leaks into the host.
    }
  };

  return new Promise<SandboxOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    /**
     * Runs host code that is not itself a slice (the executor, callbacks of host calls, timers,
     * listeners). Anything it throws ends the run as a failure, with the instance dropped untouched:
     * the run's promise always settles and no timer outlives it.
     */
    const guarded = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        poisoned = true;
        finish({ ok: false, failure: crashFailure(error) });
      }
    };
    const onAbort = () =>
      guarded(() => {
        // Aborted by host code the guest called (mid-slice): the interrupt handler stops the guest and
        // the slice ends the run; freeing the instance under the guest's feet would crash.
        if (sliceStart !== undefined) {
          stopped ??= 'aborted';
          return;
        }
        const reason = options.signal?.reason;
        finish({
          ok: false,
          failure: {
            kind: 'aborted',
            message: reason instanceof Error ? reason.message : String(reason ?? 'stopped'),
          },
        });
      });
    const finish = (outcome: SandboxOutcome) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      options.signal?.removeEventListener('abort', onAbort);
      teardown();
      resolve(outcome);
    };
    const failure = (kind: FailureKind, message: string): SandboxOutcome => ({
      ok: false,
      failure: { kind, message },
    });
    /** The failure for a stop by the interrupt handler. */
    const stopFailure = (stop: Stop): SandboxOutcome => {
      switch (stop) {
        case 'cpu':
          return failure(
            'cpu',
            `the script used more than ${limits.cpuMs} ms of CPU time (is there an endless loop?)`,
          );
        case 'conversion':
          return failure(
            'cpu',
            `reading the value the script threw did not finish within ${Math.round(conversionMs)} ms ` +
              '(a getter, toString or toJSON on it that never returns?)',
          );
        case 'wall':
          return failure('wall', `the run took longer than its wall-clock limit of ${limits.wallMs} ms`);
        case 'aborted': {
          const reason = options.signal?.reason;
          return failure('aborted', reason instanceof Error ? reason.message : String(reason ?? 'stopped'));
        }
      }
    };

    /**
     * Runs `fn` in a slice and ends the run if the slice was stopped: by a cap, by an abort, by
     * SIGINT (then the instance is dropped untouched and the signal raised again for the host), or
     * by a host-level error thrown through the instance (V8's stack overflowing under its frames, a
     * wasm trap): the instance is dropped untouched and the run fails with what happened.
     */
    const slice = <T>(fn: () => T, deadlineMs?: number): { ok: true; value: T } | { ok: false } => {
      let value: T;
      try {
        value = inGuest(fn, deadlineMs);
      } catch (error) {
        poisoned = true;
        if (!(error instanceof SliceInterrupted)) {
          finish({ ok: false, failure: crashFailure(error) });
          return { ok: false };
        }
        finish(failure('aborted', 'stopped by SIGINT'));
        process.kill(process.pid, 'SIGINT');
        return { ok: false };
      }
      if (stopped) {
        finish(stopFailure(stopped));
        return { ok: false };
      }
      return { ok: true, value };
    };

    /** Reads a thrown guest value in a slice of its own (with a short deadline) and frees it. */
    const thrown = (handle: QuickJSHandle): void => {
      conversionMs = Math.max(0, Math.min(CONVERSION_MS, limits.cpuMs - cpuUsed));
      const read = slice(() => {
        try {
          const described = ctx.callFunction(describer!, ctx.undefined, handle);
          if (described.error) {
            described.error.dispose();
            return undefined;
          }
          const json = ctx.typeof(described.value) === 'string' ? ctx.getString(described.value) : undefined;
          described.value.dispose();
          return json;
        } finally {
          handle.dispose();
        }
      }, conversionMs);
      if (!read.ok) return;
      let err: GuestError = { message: 'the script failed with a value that cannot be read' };
      if (read.value !== undefined) {
        try {
          err = JSON.parse(read.value) as GuestError;
        } catch {
          // keep the generic message
        }
      }
      finish({ ok: false, failure: toFailure(options.file, err, limits) });
    };

    /**
     * Runs the guest's pending jobs, then ends the run if the script has finished. `first` runs in
     * the same slice before them (settling a host call): one slice per settled call, not two.
     */
    const pump = (first?: () => void) => {
      if (done) return;
      try {
        options.beforeGuest?.();
      } catch (error) {
        // The host could not make what the script is about to see durable: the run ends here.
        return finish(
          failure('error', `the run could not record its progress: ${(error as Error)?.message}`),
        );
      }
      const ran = slice(() => {
        first?.();
        const jobs = runtime.executePendingJobs();
        if (jobs.error) return { error: jobs.error };
        const state = ctx.getPromiseState(mainHandle!);
        if (state.type === 'fulfilled') {
          const json = ctx.typeof(state.value) === 'string' ? ctx.getString(state.value) : undefined;
          state.value.dispose();
          return { json };
        }
        if (state.type === 'rejected') return { error: state.error };
        return {};
      });
      if (!ran.ok) return;
      const { error, json } = ran.value as { error?: QuickJSHandle; json?: string | undefined };
      if (error) return thrown(error);
      if ('json' in ran.value) {
        if (json === undefined) {
          return finish(
            failure(
              'error',
              'the script did not finish with a readable result (were JSON.stringify or promises replaced?)',
            ),
          );
        }
        // The host writes the result out (result.json, the report) with recursive code of its own.
        // Each level takes at least two characters: a short result needs no scan.
        const depth = json.length > 2 * MAX_RESULT_DEPTH ? jsonDepth(json) - 1 : 0;
        if (depth > MAX_RESULT_DEPTH) {
          return finish(
            failure(
              'error',
              `the script returned a value nested ${depth} levels deep; the limit is ${MAX_RESULT_DEPTH}: ` +
                'return something flatter',
            ),
          );
        }
        return finish({ ok: true, value: (JSON.parse(json) as { v: unknown }).v });
      }
      if (pending.size === 0) {
        finish(
          failure(
            'deadlock',
            'the script is waiting for a promise that can never settle (no agent or other call is in flight)',
          ),
        );
      }
    };

    /**
     * Settled host calls not yet handed to the guest, in the order they settled. Calls that settle
     * in one turn of the event loop are handed over together in the next macrotask, in one slice
     * with one run of the guest's pending jobs: a fan-out of agents costs one guest turn per batch,
     * not one per agent. They stay in `pending` until handed over (so teardown frees them).
     */
    const settled: Array<() => void> = [];
    let turnScheduled = false;
    const scheduleTurn = () => {
      if (turnScheduled) return;
      turnScheduled = true;
      if (options.guestTurns) options.guestTurns.pending++;
      setImmediate(() => {
        turnScheduled = false;
        if (options.guestTurns) options.guestTurns.pending--;
        guarded(() => {
          if (done) return;
          const batch = settled.splice(0);
          pump(() => {
            for (const handOver of batch) handOver();
          });
        });
      });
    };

    const settle = (
      deferred: QuickJSDeferredPromise,
      size: number,
      outcome: { value?: unknown; error?: unknown },
    ) => {
      if (done || !pending.has(deferred)) return;
      held -= size;
      // The value becomes JSON before the slice: a value the host cannot write (nested deeper than
      // V8's stack allows, say) is an error for the call, not a fault of the instance.
      let json: string | undefined;
      if (!('error' in outcome) && outcome.value !== undefined) {
        try {
          json = JSON.stringify(outcome.value);
        } catch (error) {
          outcome = { error };
        }
      }
      const kind = 'error' in outcome ? hostErrorKind(outcome.error) : undefined;
      // Settling can run guest code (an Error.prototype setter, say): it is part of the slice.
      settled.push(() => {
        pending.delete(deferred);
        if ('error' in outcome) {
          const e = outcome.error as { name?: unknown; message?: unknown };
          const handle = ctx.newError({
            name: typeof e?.name === 'string' ? e.name : 'Error',
            message: typeof e?.message === 'string' ? e.message : String(outcome.error),
          });
          if (kind !== undefined) {
            const kindHandle = ctx.newString(kind);
            const tagged = ctx.callFunction(tagger!, ctx.undefined, handle, kindHandle);
            kindHandle.dispose();
            if (tagged.error) tagged.error.dispose();
            else tagged.value.dispose();
          }
          deferred.reject(handle);
          handle.dispose();
        } else if (json === undefined) {
          deferred.resolve();
        } else {
          const handle = ctx.newString(json);
          deferred.resolve(handle);
          handle.dispose();
        }
      });
      scheduleTurn();
    };

    /** A string argument from the prelude; anything else is refused (the prelude only passes strings). */
    const text = (handle: QuickJSHandle, what: string): string => {
      if (ctx.typeof(handle) !== 'string') throw new TypeError(`host call: ${what} must be a string`);
      return ctx.getString(handle);
    };

    const callFn = ctx.newFunction('call', (nameHandle, argsHandle) => {
      const name = text(nameHandle, 'the name');
      const json = text(argsHandle, 'the arguments');
      if (json.length > GUEST_LIMITS.call) {
        throw new RangeError(`${name}(): its arguments are longer than ${GUEST_LIMITS.call} characters`);
      }
      if (held + json.length > GUEST_LIMITS.held) {
        throw new RangeError(
          `${name}(): the calls still in flight hold ${held} characters of prompts and arguments, and this one ` +
            `${json.length} more; the limit is ${GUEST_LIMITS.held} at once. Start fewer agents at a time ` +
            '(pipeline() or batches), or pass shorter prompts.',
        );
      }
      const args = JSON.parse(json) as unknown[];
      const deferred = ctx.newPromise();
      pending.add(deferred);
      held += json.length;
      const size = json.length;
      let started: Promise<unknown>;
      try {
        started = options.host.call(name, args);
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        (value) => guarded(() => settle(deferred, size, { value })),
        (error: unknown) => guarded(() => settle(deferred, size, { error })),
      );
      return deferred.handle;
    });
    const syncFn = ctx.newFunction('sync', (nameHandle, argsHandle) => {
      const name = text(nameHandle, 'the name');
      const json = text(argsHandle, 'the arguments');
      if (json.length > GUEST_LIMITS.call) {
        throw new RangeError(`${name}(): its arguments are longer than ${GUEST_LIMITS.call} characters`);
      }
      const value = options.host.sync(name, JSON.parse(json) as unknown[]);
      return value === undefined ? ctx.undefined : ctx.newString(JSON.stringify(value));
    });

    const start = () => {
      // The runtime's globals; trusted code, but it runs in a slice like everything in the instance.
      const setup = slice(() => {
        owned.push(callFn, syncFn);
        const evaluated = ctx.evalCode(PRELUDE, 'dwf:runtime');
        if (evaluated.error) return evaluated.error;
        const installer = evaluated.value;
        owned.push(installer);
        // `args` is undefined, not null, when the run was given none.
        const argsJson =
          options.args === undefined ? ctx.undefined : ctx.newString(JSON.stringify(options.args));
        const total = options.budgetTotal === null ? ctx.null : ctx.newNumber(options.budgetTotal);
        const guestLimits = ctx.evalCode(`(${JSON.stringify(GUEST_LIMITS)})`, 'dwf:limits');
        if (guestLimits.error) return guestLimits.error;
        owned.push(guestLimits.value);
        if (options.args !== undefined) owned.push(argsJson);
        if (options.budgetTotal !== null) owned.push(total);
        const installed = ctx.callFunction(
          installer,
          ctx.undefined,
          callFn,
          syncFn,
          argsJson,
          total,
          guestLimits.value,
        );
        if (installed.error) return installed.error;
        owned.push(installed.value);
        describer = ctx.getProp(installed.value, 0);
        owned.push(describer);
        tagger = ctx.getProp(installed.value, 1);
        owned.push(tagger);
        return undefined;
      });
      if (!setup.ok) return;
      if (setup.value) {
        const error = setup.value;
        const message = inGuest(() => {
          const dumped = JSON.stringify(ctx.dump(error));
          error.dispose();
          return dumped;
        });
        return finish(failure('error', `runtime setup failed: ${message}`));
      }

      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // Cleared when the run ends, and never what keeps the process alive.
      timer = setTimeout(() => guarded(() => finish(stopFailure('wall'))), limits.wallMs);
      timer.unref();

      options.onStart?.();
      const evaluated = slice(() => ctx.evalCode(`${PREFIX}${options.body}${SUFFIX}`, options.file));
      if (!evaluated.ok) return;
      if (evaluated.value.error) return thrown(evaluated.value.error);
      mainHandle = evaluated.value.value;
      pump();
    };
    guarded(start);
  });
}
