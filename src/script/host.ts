/**
 * The host side of the boundary a script calls across: the bridge the sandbox calls by name, the
 * typed table of host functions behind it (by the names the prelude uses), and the kinds a host
 * call's error may carry into the script.
 */

/** The functions a script can reach; everything crosses the boundary as JSON. */
export interface HostBridge {
  call(name: string, args: unknown[]): Promise<unknown>;
  sync(name: string, args: unknown[]): unknown;
}

/**
 * The host functions the prelude calls, by the names it calls them (see prelude.ts): `call` holds
 * the asynchronous ones, `sync` the synchronous ones. Arguments are the script's, as JSON values.
 */
export interface HostFunctions {
  call: {
    agent(prompt: unknown, opts: unknown): Promise<unknown>;
    workflow(nameOrRef: unknown, args: unknown): Promise<unknown>;
    oracle(): Promise<unknown>;
  };
  sync: {
    phase(title: unknown): void;
    log(line: unknown): void;
    itemFailed(where: unknown, error: unknown): void;
    budgetSpent(): number;
    budgetRemaining(): number | null;
    /** `shard(args, { arg, count })`: this run's slice of `args[arg]` (see shard.ts). */
    shard(args: unknown, options: unknown): unknown;
  };
}

export type HostCallName = keyof HostFunctions['call'];
export type HostSyncName = keyof HostFunctions['sync'];

/** The bridge the sandbox calls by name, over a table of host functions. */
export function hostBridge(functions: HostFunctions): HostBridge {
  const calls = functions.call as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const syncs = functions.sync as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    call: (name, args) =>
      Object.hasOwn(calls, name)
        ? calls[name]!(...args)
        : Promise.reject(new Error(`unknown host call ${name}`)),
    sync: (name, args) => {
      if (!Object.hasOwn(syncs, name)) throw new Error(`unknown host call ${name}`);
      return syncs[name]!(...args);
    },
  };
}

/**
 * The kinds a host call's error may carry into the script. The error the script sees keeps the
 * kind while it is the same object (caught and thrown again, say); when it ends the script, the
 * failure has that kind instead of `error`. Only the host can give an error a kind.
 */
export const HOST_ERROR_KINDS = ['budget', 'limit'] as const;
export type HostErrorKind = (typeof HOST_ERROR_KINDS)[number];

export function isHostErrorKind(value: unknown): value is HostErrorKind {
  return (HOST_ERROR_KINDS as readonly unknown[]).includes(value);
}

/** An error of a host call with a kind (see HostErrorKind); its name stays `Error`. */
export class HostError extends Error {
  constructor(
    message: string,
    readonly kind: HostErrorKind,
  ) {
    super(message);
  }
}

/** The kind a host call's error carries, if any: its `kind` property, when it is one of HOST_ERROR_KINDS. */
export function hostErrorKind(error: unknown): HostErrorKind | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const kind = (error as { kind?: unknown }).kind;
  return isHostErrorKind(kind) ? kind : undefined;
}
