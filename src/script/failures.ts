/**
 * How a script ends when it does not return: the failure kinds, and the failure for each way a
 * run can end badly (the script's own error, a cap, a stop by the interrupt handler, a fault of
 * the instance itself).
 */
import { type HostErrorKind, isHostErrorKind } from './host.js';
import { HOST_STACK_DEPTH, type SandboxLimits } from './limits.js';
import { locate } from './program.js';

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

/** A thrown guest value as the prelude's `describe` reads it. */
export interface GuestError {
  name?: string;
  message?: string;
  stack?: string;
  /** The kind of a host call's error (see HostErrorKind), as the prelude recorded it. */
  kind?: string;
}

/** Why the interrupt handler stopped the guest, if it did. */
export type Stop = 'cpu' | 'wall' | 'conversion' | 'aborted';

export function failure(kind: FailureKind, message: string): SandboxOutcome {
  return { ok: false, failure: { kind, message } };
}

/** The message of a stop of the run: the signal's reason. */
export function abortMessage(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  return reason instanceof Error ? reason.message : String(reason ?? 'stopped');
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/** The failure for a value the script threw (or rejected its result with). */
export function toFailure(file: string, err: GuestError, limits: SandboxLimits): ScriptFailure {
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

/** The failure for a stop by the interrupt handler; `conversionMs` is what reading a thrown value was given. */
export function stopFailure(
  stop: Stop,
  limits: SandboxLimits,
  conversionMs: number,
  signal: AbortSignal | undefined,
): SandboxOutcome {
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
    case 'aborted':
      return failure('aborted', abortMessage(signal));
  }
}

/** At most this much of a host error's text is shown. */
const CRASH_TEXT = 500;

/**
 * The failure for a host-level error in the instance (anything but our own interrupt): V8's stack
 * overflowing under wasm frames, a wasm trap, or a fault of the runtime. The instance was cut off
 * mid-call and is never touched again.
 */
export function crashFailure(error: unknown): ScriptFailure {
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
