/**
 * The guest's clock: every touch of the instance runs in a slice, metered by QuickJS's interrupt
 * handler against the CPU cap, the wall clock, a slice's own deadline and the run's abort signal;
 * outside a slice no guest code runs at all. A slice also runs under Node's SIGINT watchdog when
 * the host handles SIGINT.
 */
import vm from 'node:vm';
import type { QuickJSRuntime } from 'quickjs-emscripten-core';
import type { Stop } from './failures.js';
import { CONVERSION_MS, type SandboxLimits } from './limits.js';

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

/** A slice ended by SIGINT: the instance was cut off mid-call. */
export class SliceInterrupted extends Error {}

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

/** Meters one instance's slices; `stopped` says why the interrupt handler stopped the guest, once it has. */
export class GuestMeter {
  cpuUsed = 0;
  /** When the current slice started; undefined outside a slice. */
  private sliceStart: number | undefined;
  /** A tighter deadline for the current slice (reading a thrown value). */
  private sliceDeadline: number | undefined;
  stopped: Stop | undefined;
  /** The time the current reading of a thrown value may take: the rest of the CPU cap, at most CONVERSION_MS. */
  conversionMs = CONVERSION_MS;
  private readonly wallDeadline: number;

  constructor(
    runtime: QuickJSRuntime,
    private readonly limits: SandboxLimits,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.wallDeadline = performance.now() + limits.wallMs;
    runtime.setInterruptHandler(() => this.interrupts());
  }

  /** Whether host code runs inside a slice now (called by the guest). */
  get inSlice(): boolean {
    return this.sliceStart !== undefined;
  }

  /** The interrupt handler: whether the guest must stop now. */
  private interrupts(): boolean {
    if (this.stopped) return true;
    // Guest code outside a slice is never allowed to run: it would not be metered.
    if (this.sliceStart === undefined) return true;
    const now = performance.now();
    const overCpu = this.cpuUsed + (now - this.sliceStart) > this.limits.cpuMs;
    if (this.sliceDeadline !== undefined && (overCpu || now > this.sliceDeadline))
      this.stopped = 'conversion';
    else if (overCpu) this.stopped = 'cpu';
    else if (now > this.wallDeadline) this.stopped = 'wall';
    else if (this.signal?.aborted) this.stopped = 'aborted';
    return this.stopped !== undefined;
  }

  /** Sets the time the next reading of a thrown value may take. */
  startConversion(): number {
    this.conversionMs = Math.max(0, Math.min(CONVERSION_MS, this.limits.cpuMs - this.cpuUsed));
    return this.conversionMs;
  }

  /**
   * Runs `fn` as a slice (or inside the current one), with a tighter deadline if given. Throws
   * what `fn` throws, or SliceInterrupted on SIGINT; a stop by the handler shows in `stopped`.
   */
  inGuest<T>(fn: () => T, deadlineMs?: number): T {
    const outer = this.sliceStart;
    const start = performance.now();
    if (outer === undefined) this.sliceStart = start;
    const outerDeadline = this.sliceDeadline;
    if (deadlineMs !== undefined)
      this.sliceDeadline = Math.min(outerDeadline ?? Infinity, start + deadlineMs);
    try {
      return outer === undefined ? runSlice(fn) : fn();
    } finally {
      this.sliceDeadline = outerDeadline;
      if (outer === undefined) {
        this.cpuUsed += performance.now() - start;
        this.sliceStart = undefined;
      }
    }
  }
}
