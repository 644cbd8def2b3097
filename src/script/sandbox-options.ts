/** What a caller gives `runInSandbox`: the script, its arguments, the host bridge and the hooks of a run. */
import type { HostBridge } from './host.js';
import type { SandboxLimits } from './limits.js';

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
