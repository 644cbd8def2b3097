interface Waiter {
  admit: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
}

/**
 * Admits at most `limit` agents at once; the rest wait in call order. A waiter whose signal is
 * aborted leaves the queue with the signal's reason.
 *
 * A signal gets one abort listener for all its waiters (registered when its first waiter queues,
 * removed when its last one leaves), not one per waiter: a run queues up to a thousand agents on
 * one stop signal, and each add or remove of a listener walks the signal's whole list.
 */
export class Scheduler {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Per signal: how many waiters it has in the queue, and its one listener. */
  private readonly watched = new Map<AbortSignal, { count: number; onAbort: () => void }>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency must be a whole number >= 1, got ${limit}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A release function now, when a slot is free (and the signal not aborted); otherwise undefined.
   * An agent the script starts with a slot free starts at once, in the same turn, not after the
   * script has made all the calls of its turn.
   */
  tryAcquire(signal?: AbortSignal): (() => void) | undefined {
    if (signal?.aborted || this.running >= this.limit || this.waiting.length > 0) return undefined;
    this.running++;
    return this.releaser();
  }

  /** Resolves with a release function once a slot is free. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({
        admit: () => {
          this.running++;
          resolve(this.releaser());
        },
        reject,
        signal,
      });
      if (signal) this.watch(signal);
    });
  }

  private watch(signal: AbortSignal): void {
    const known = this.watched.get(signal);
    if (known) {
      known.count++;
      return;
    }
    const onAbort = () => {
      this.watched.delete(signal);
      // One pass: every waiter on this signal leaves, in queue order; the others keep their places.
      const leaving: Waiter[] = [];
      let kept = 0;
      for (const waiter of this.waiting) {
        if (waiter.signal === signal) leaving.push(waiter);
        else this.waiting[kept++] = waiter;
      }
      this.waiting.length = kept;
      for (const waiter of leaving) waiter.reject(signal.reason);
    };
    this.watched.set(signal, { count: 1, onAbort });
    signal.addEventListener('abort', onAbort, { once: true });
  }

  private unwatch(signal: AbortSignal): void {
    const known = this.watched.get(signal);
    if (!known || --known.count > 0) return;
    this.watched.delete(signal);
    signal.removeEventListener('abort', known.onAbort);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const next = this.waiting.shift();
      if (!next) return;
      if (next.signal) this.unwatch(next.signal);
      next.admit();
    };
  }
}
