/**
 * The bridge of host calls: the calls the script makes, which the prelude gathers and hands over in
 * batches through `call` (at the latest when the host drains them at the end of a slice) and both
 * sides number in order; `sync`; the size checks on what the script hands the host; and the
 * settling of the calls' promises (the prelude's `settle` and `settleMany`), handed to the guest in
 * batches, one guest turn per turn of the event loop.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { hostErrorKind } from './host.js';
import { GUEST_LIMITS } from './limits.js';
import type { SandboxOptions } from './sandbox-options.js';

/** What the bridge needs of the run it serves. */
export interface BridgeRun {
  /** The run has ended: nothing more is handed to the guest. */
  readonly done: boolean;
  /** Runs host code outside a slice; what it throws ends the run. */
  guarded(fn: () => void): void;
  /** Runs `first` and then the guest's pending jobs, in one slice. */
  pump(first?: () => void): void;
  /** The interrupt handler has stopped the guest. */
  readonly interrupted: boolean;
  /** The prelude's function that records the kind of a host call's error (see HostErrorKind). */
  readonly tagger: QuickJSHandle | undefined;
  /** The prelude's functions that settle the promise of one call, or of many, by their ids. */
  readonly settlers: { one: QuickJSHandle; many: QuickJSHandle } | undefined;
  /** The prelude's function that hands over the calls the script made since it last did. */
  readonly drainer: QuickJSHandle | undefined;
}

/** A settled host call waiting for its turn: its result as JSON (none for undefined), or its error. */
type Settled =
  | { id: number; failed: false; json: string | undefined }
  | { id: number; failed: true; error: unknown; kind: string | undefined };

/** Characters of results' JSON handed to the guest in one call, at most (unless one result is longer). */
const HAND_OVER = 1024 * 1024;

/**
 * Characters of one batch of calls from the prelude, at most: it hands a batch over as soon as it
 * reaches GUEST_LIMITS.batch, so a batch is that plus one call (its name, a space, a line break).
 */
const MAX_BATCH = GUEST_LIMITS.batch + GUEST_LIMITS.call + 64;

export class HostCalls {
  /** Ids of the host calls not yet handed to the guest (in flight, or settled and waiting for the next turn). */
  private readonly pending = new Set<number>();
  private lastId = 0;
  /** Characters of call arguments the host holds for calls not yet settled. */
  private held = 0;
  /**
   * Settled host calls not yet handed to the guest, in the order they settled. Calls that settle
   * in one turn of the event loop are handed over together in the next macrotask, in one slice
   * with one run of the guest's pending jobs: a fan-out of agents costs one guest turn per batch,
   * not one per agent. They stay in `pending` until handed over.
   */
  private readonly settled: Settled[] = [];
  private turnScheduled = false;

  constructor(
    private readonly ctx: QuickJSContext,
    private readonly run: BridgeRun,
    private readonly options: Pick<SandboxOptions, 'host' | 'guestTurns'>,
  ) {}

  /** How many host calls the guest still waits for. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The guest's `call` and `sync` functions; the caller owns the handles. */
  functions(): { call: QuickJSHandle; sync: QuickJSHandle } {
    return {
      call: this.ctx.newFunction('call', (batch) => {
        this.accept(this.batchText(batch));
      }),
      sync: this.ctx.newFunction('sync', (name, args) => this.sync(name, args)),
    };
  }

  /** A string argument from the prelude; anything else is refused (the prelude only passes strings). */
  private text(handle: QuickJSHandle, what: string): string {
    if (this.ctx.typeof(handle) !== 'string') throw new TypeError(`host call: ${what} must be a string`);
    return this.ctx.getString(handle);
  }

  /** A batch of calls from the prelude (see `accept`), never longer than it makes them. */
  private batchText(handle: QuickJSHandle): string {
    const batch = this.text(handle, 'the calls');
    if (batch.length > MAX_BATCH) {
      throw new RangeError(`host call: a batch of ${batch.length} characters of calls`);
    }
    return batch;
  }

  /**
   * Takes the calls the script made since the last time, which the prelude gathers: its `flush`
   * hands them to `call`, if there are any. Called inside every slice that runs the script, at its
   * end, so that the host starts them in the same slice, in the order they were made, as if each
   * had crossed on its own.
   */
  drain(): void {
    if (this.run.interrupted || this.run.done) return;
    this.callGuest(this.run.drainer!, []);
  }

  /**
   * Starts the calls of a batch: each is a line, the call's name, a space and its arguments as
   * JSON. The prelude numbers its calls 1, 2, … in the order it makes them, and so does the host
   * here, one number per line: a call the host refuses (too long, too much held) is numbered too,
   * and rejected.
   */
  private accept(batch: string): void {
    let at = 0;
    while (at < batch.length) {
      let end = batch.indexOf('\n', at);
      if (end < 0) end = batch.length;
      const line = batch.slice(at, end);
      at = end + 1;
      const space = line.indexOf(' ');
      this.start(space < 0 ? '' : line.slice(0, space), line.slice(space + 1));
    }
  }

  private start(name: string, json: string): void {
    const id = ++this.lastId;
    this.pending.add(id);
    let size = 0;
    let started: Promise<unknown>;
    try {
      if (json.length > GUEST_LIMITS.call) {
        throw new RangeError(`${name}(): its arguments are longer than ${GUEST_LIMITS.call} characters`);
      }
      if (this.held + json.length > GUEST_LIMITS.held) {
        throw new RangeError(
          `${name}(): the calls still in flight hold ${this.held} characters of prompts and arguments, and this one ` +
            `${json.length} more; the limit is ${GUEST_LIMITS.held} at once. Start fewer agents at a time ` +
            '(pipeline() or batches), or pass shorter prompts.',
        );
      }
      const args = JSON.parse(json) as unknown[];
      size = json.length;
      this.held += size;
      started = this.options.host.call(name, args);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (value) => this.run.guarded(() => this.settle(id, size, { value })),
      (error: unknown) => this.run.guarded(() => this.settle(id, size, { error })),
    );
  }

  private sync(nameHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle {
    const name = this.text(nameHandle, 'the name');
    const json = this.text(argsHandle, 'the arguments');
    if (json.length > GUEST_LIMITS.call) {
      throw new RangeError(`${name}(): its arguments are longer than ${GUEST_LIMITS.call} characters`);
    }
    const value = this.options.host.sync(name, JSON.parse(json) as unknown[]);
    return value === undefined ? this.ctx.undefined : this.ctx.newString(JSON.stringify(value));
  }

  private settle(id: number, size: number, outcome: { value?: unknown; error?: unknown }) {
    if (this.run.done || !this.pending.has(id)) return;
    this.held -= size;
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
    if ('error' in outcome) {
      this.settled.push({ id, failed: true, error: outcome.error, kind: hostErrorKind(outcome.error) });
    } else {
      this.settled.push({ id, failed: false, json });
    }
    this.scheduleTurn();
  }

  /**
   * Hands a batch of settled calls to the guest, in order (inside the slice: settling can run guest
   * code, an Error.prototype setter, say). Results go over together, as one JSON array with a
   * header of ids and lengths, at most HAND_OVER characters of JSON at a time so that the guest
   * never holds much more than the results themselves; an error goes over on its own. Once the
   * interrupt handler has stopped the guest, the rest waits for nothing: the slice ends the run.
   */
  private handOver(batch: Settled[]) {
    let fields: number[] = [];
    let payload = '';
    const flush = () => {
      if (fields.length === 0) return;
      const header = this.ctx.newString(JSON.stringify(fields));
      const results = this.ctx.newString(`[${payload}]`);
      this.callGuest(this.run.settlers!.many, [header, results]);
      header.dispose();
      results.dispose();
      fields = [];
      payload = '';
    };
    for (const settled of batch) {
      if (this.run.interrupted) return;
      this.pending.delete(settled.id);
      if (settled.failed) {
        flush();
        if (!this.run.interrupted) this.reject(settled.id, settled.error, settled.kind);
        continue;
      }
      const { json } = settled;
      fields.push(settled.id, json === undefined ? -1 : json.length);
      if (json !== undefined) payload += payload === '' ? json : `,${json}`;
      if (payload.length >= HAND_OVER) flush();
    }
    if (!this.run.interrupted) flush();
  }

  /**
   * Calls one of the prelude's settling functions. A stop by the interrupt handler is left to the
   * slice to report; any other error is a fault of the instance, and thrown (the instance is then
   * dropped untouched, nothing freed).
   */
  private callGuest(fn: QuickJSHandle, args: QuickJSHandle[]) {
    const result = this.ctx.callFunction(fn, this.ctx.undefined, args);
    if (!result.error) {
      result.value.dispose();
      return;
    }
    if (!this.run.interrupted) this.ctx.unwrapResult(result);
    result.error.dispose();
  }

  private reject(id: number, error: unknown, kind: string | undefined) {
    const { ctx } = this;
    const e = error as { name?: unknown; message?: unknown };
    const handle = ctx.newError({
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: typeof e?.message === 'string' ? e.message : String(error),
    });
    if (kind !== undefined) {
      const kindHandle = ctx.newString(kind);
      const tagged = ctx.callFunction(this.run.tagger!, ctx.undefined, handle, kindHandle);
      kindHandle.dispose();
      if (tagged.error) tagged.error.dispose();
      else tagged.value.dispose();
    }
    const idHandle = ctx.newNumber(id);
    this.callGuest(this.run.settlers!.one, [idHandle, ctx.true, handle]);
    idHandle.dispose();
    handle.dispose();
  }

  private scheduleTurn() {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    const turns = this.options.guestTurns;
    if (turns) turns.pending++;
    setImmediate(() => {
      this.turnScheduled = false;
      if (turns) turns.pending--;
      this.run.guarded(() => {
        if (this.run.done) return;
        const batch = this.settled.splice(0);
        this.run.pump(() => this.handOver(batch));
      });
    });
  }
}
