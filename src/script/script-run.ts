/**
 * One run of a script in its instance, from the prelude's setup to the outcome: the slices that
 * run guest code and end the run when one is stopped, the guest's turns (its pending jobs, then a
 * look at its promise), a thrown value read back, the wall timer and the abort signal, and the
 * teardown that frees the instance.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import {
  abortMessage,
  crashFailure,
  failure,
  type GuestError,
  type SandboxOutcome,
  stopFailure,
  toFailure,
} from './failures.js';
import { type BridgeRun, HostCalls } from './host-calls.js';
import { GUEST_LIMITS, type SandboxLimits } from './limits.js';
import { GuestMeter, SliceInterrupted } from './meter.js';
import { PRELUDE_SOURCE } from './prelude.js';
import { readResult, wrapScript } from './program.js';
import type { SandboxOptions } from './sandbox-options.js';

type Sliced<T> = { ok: true; value: T } | { ok: false };

export class ScriptRun implements BridgeRun {
  done = false;
  tagger: QuickJSHandle | undefined;
  settlers: { one: QuickJSHandle; many: QuickJSHandle } | undefined;
  drainer: QuickJSHandle | undefined;
  /** The prelude's function that reads a thrown value as JSON. */
  private describer: QuickJSHandle | undefined;
  /** The script's promise: of its result's JSON. */
  private mainHandle: QuickJSHandle | undefined;
  /** Handles freed at teardown. */
  private readonly owned: QuickJSHandle[] = [];
  /**
   * The instance was cut off mid-call (SIGINT, or a host-level error such as V8's stack overflowing
   * under its frames): it must not be touched again, not even to free it.
   */
  private poisoned = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly meter: GuestMeter;
  private readonly calls: HostCalls;

  constructor(
    private readonly runtime: QuickJSRuntime,
    private readonly ctx: QuickJSContext,
    private readonly options: SandboxOptions,
    private readonly limits: SandboxLimits,
    private readonly resolve: (outcome: SandboxOutcome) => void,
  ) {
    this.meter = new GuestMeter(runtime, limits, options.signal);
    this.calls = new HostCalls(ctx, this, options);
  }

  get interrupted(): boolean {
    return this.meter.stopped !== undefined;
  }

  /**
   * Runs host code that is not itself a slice (the executor, callbacks of host calls, timers,
   * listeners). Anything it throws ends the run as a failure, with the instance dropped untouched:
   * the run's promise always settles and no timer outlives it.
   */
  guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.poisoned = true;
      this.finish({ ok: false, failure: crashFailure(error) });
    }
  }

  private readonly onAbort = () =>
    this.guarded(() => {
      // Aborted by host code the guest called (mid-slice): the interrupt handler stops the guest and
      // the slice ends the run; freeing the instance under the guest's feet would crash.
      if (this.meter.inSlice) {
        this.meter.stopped ??= 'aborted';
        return;
      }
      this.finish({ ok: false, failure: { kind: 'aborted', message: abortMessage(this.options.signal) } });
    });

  private finish(outcome: SandboxOutcome): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.teardown();
    this.resolve(outcome);
  }

  private teardown(): void {
    // A guest cut off mid-flight leaves objects QuickJS refuses to free (it aborts, loudly): the
    // whole wasm instance is dropped with this run instead.
    if (this.poisoned || this.meter.stopped) return;
    try {
      this.meter.inGuest(() => {
        this.mainHandle?.dispose();
        for (const handle of this.owned) handle.dispose();
        this.ctx.dispose();
        this.runtime.dispose();
      });
    } catch {
      // Same as above: nothing of the instance leaks into the host.
    }
  }

  /**
   * Runs `fn` in a slice and ends the run if the slice was stopped: by a cap, by an abort, by
   * SIGINT (then the instance is dropped untouched and the signal raised again for the host), or
   * by a host-level error thrown through the instance (V8's stack overflowing under its frames, a
   * wasm trap): the instance is dropped untouched and the run fails with what happened.
   */
  private slice<T>(fn: () => T, deadlineMs?: number): Sliced<T> {
    let value: T;
    try {
      value = this.meter.inGuest(fn, deadlineMs);
    } catch (error) {
      this.poisoned = true;
      if (!(error instanceof SliceInterrupted)) {
        this.finish({ ok: false, failure: crashFailure(error) });
        return { ok: false };
      }
      this.finish(failure('aborted', 'stopped by SIGINT'));
      process.kill(process.pid, 'SIGINT');
      return { ok: false };
    }
    const { stopped } = this.meter;
    if (stopped) {
      this.finish(stopFailure(stopped, this.limits, this.meter.conversionMs, this.options.signal));
      return { ok: false };
    }
    return { ok: true, value };
  }

  /** Reads a thrown guest value in a slice of its own (with a short deadline) and frees it. */
  private thrown(handle: QuickJSHandle): void {
    const { ctx } = this;
    const read = this.slice(() => {
      try {
        const described = ctx.callFunction(this.describer!, ctx.undefined, handle);
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
    }, this.meter.startConversion());
    if (!read.ok) return;
    let err: GuestError = { message: 'the script failed with a value that cannot be read' };
    if (read.value !== undefined) {
      try {
        err = JSON.parse(read.value) as GuestError;
      } catch {
        // keep the generic message
      }
    }
    this.finish({ ok: false, failure: toFailure(this.options.file, err, this.limits) });
  }

  /**
   * Runs the guest's pending jobs, then ends the run if the script has finished. `first` runs in
   * the same slice before them (settling a host call): one slice per settled call, not two.
   */
  pump(first?: () => void): void {
    if (this.done) return;
    try {
      this.options.beforeGuest?.();
    } catch (error) {
      // The host could not make what the script is about to see durable: the run ends here.
      this.finish(failure('error', `the run could not record its progress: ${(error as Error)?.message}`));
      return;
    }
    const { ctx } = this;
    const ran = this.slice((): { error?: QuickJSHandle; json?: string | undefined } => {
      first?.();
      const jobs = this.runtime.executePendingJobs();
      this.calls.drain();
      if (jobs.error) return { error: jobs.error };
      const state = ctx.getPromiseState(this.mainHandle!);
      if (state.type === 'fulfilled') {
        const json = ctx.typeof(state.value) === 'string' ? ctx.getString(state.value) : undefined;
        state.value.dispose();
        return { json };
      }
      if (state.type === 'rejected') return { error: state.error };
      return {};
    });
    if (!ran.ok) return;
    const { error, json } = ran.value;
    if (error) {
      this.thrown(error);
    } else if ('json' in ran.value) {
      const result = readResult(json);
      this.finish('refused' in result ? failure('error', result.refused) : { ok: true, value: result.value });
    } else if (this.calls.inFlight === 0) {
      this.finish(
        failure(
          'deadlock',
          'the script is waiting for a promise that can never settle (no agent or other call is in flight)',
        ),
      );
    }
  }

  /** Installs the prelude's globals; returns what it threw, if it did. */
  private setUp(): Sliced<QuickJSHandle | undefined> {
    const { ctx, options, owned } = this;
    const { call, sync } = this.calls.functions();
    // The runtime's globals; trusted code, but it runs in a slice like everything in the instance.
    return this.slice(() => {
      owned.push(call, sync);
      const evaluated = ctx.evalCode(PRELUDE_SOURCE, 'dwf:runtime');
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
        call,
        sync,
        argsJson,
        total,
        guestLimits.value,
      );
      if (installed.error) return installed.error;
      owned.push(installed.value);
      this.describer = ctx.getProp(installed.value, 0);
      owned.push(this.describer);
      this.tagger = ctx.getProp(installed.value, 1);
      owned.push(this.tagger);
      this.settlers = { one: ctx.getProp(installed.value, 2), many: ctx.getProp(installed.value, 3) };
      owned.push(this.settlers.one, this.settlers.many);
      this.drainer = ctx.getProp(installed.value, 4);
      owned.push(this.drainer);
      return undefined;
    });
  }

  /** Sets the instance up, starts the wall timer and runs the script up to its first wait. */
  start(): void {
    const { ctx, options } = this;
    const setup = this.setUp();
    if (!setup.ok) return;
    if (setup.value) {
      const error = setup.value;
      const message = this.meter.inGuest(() => {
        const dumped = JSON.stringify(ctx.dump(error));
        error.dispose();
        return dumped;
      });
      this.finish(failure('error', `runtime setup failed: ${message}`));
      return;
    }

    if (options.signal?.aborted) {
      this.onAbort();
      return;
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    const { limits } = this;
    // Cleared when the run ends, and never what keeps the process alive.
    this.timer = setTimeout(
      () =>
        this.guarded(() => this.finish(stopFailure('wall', limits, this.meter.conversionMs, options.signal))),
      limits.wallMs,
    );
    this.timer.unref();

    options.onStart?.();
    const evaluated = this.slice(() => {
      const result = ctx.evalCode(wrapScript(options.body), options.file);
      this.calls.drain();
      return result;
    });
    if (!evaluated.ok) return;
    if (evaluated.value.error) {
      this.thrown(evaluated.value.error);
      return;
    }
    this.mainHandle = evaluated.value.value;
    this.pump();
  }
}
