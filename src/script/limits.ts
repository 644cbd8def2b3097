/**
 * The sandbox's caps: the instance's (memory, CPU, wall clock, stack), the sizes of what a script
 * hands the host, and the nesting depths the host's own recursive code can take.
 */

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
  /**
   * The calls the prelude gathers before it hands them to the host at once (it also does at the
   * end of each slice and before any sync call); one call longer than this goes on its own.
   */
  batch: 1024 * 1024,
  /** The script's result, as JSON. */
  result: 8 * 1024 * 1024,
  /** An error's name, message or stack. */
  text: 4 * 1024,
} as const;

/** How long reading a thrown value may take; it also counts against the CPU cap. */
export const CONVERSION_MS = 1000;

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
