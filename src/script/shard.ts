/**
 * Sharding: one run's list argument (a workflow's `args.files`, say) split across runners, each
 * running the same approved script on its own slice. `splitShards` is the only implementation of
 * the split: the planner shows its slices, the sandbox's `shard()` gives a runner its own, and the
 * runner side reads the same ones.
 */

/**
 * Splits a list into `count` slices: deterministic (the same list and count give the same slices),
 * balanced (sizes differ by at most 1, the longer ones first), every item in exactly one slice,
 * and the list's order kept inside each slice and from one slice to the next. With more slices
 * than items, the last ones are empty.
 */
export function splitShards<T>(list: readonly T[], count: number): T[][] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`the shard count must be a whole number of at least 1, got ${String(count)}`);
  }
  const size = Math.floor(list.length / count);
  const longer = list.length % count;
  const slices: T[][] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = size + (i < longer ? 1 : 0);
    slices.push(list.slice(at, at + length));
    at += length;
  }
  return slices;
}

/** What a script passes as `shard(args, { arg, count })`'s second argument, checked. */
export interface ShardRequest {
  arg: string;
  count: number;
}

const USAGE = 'shard(args, { arg: "files", count: 3 })';

/** Checks `shard()`'s arguments; throws what is wrong, as the script will see it. */
export function checkShardRequest(args: unknown, options: unknown): ShardRequest & { list: unknown[] } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`shard(): the second argument must be an object, as in ${USAGE}`);
  }
  const { arg, count } = options as Record<string, unknown>;
  if (typeof arg !== 'string' || arg === '') {
    throw new TypeError(`shard(): "arg" must name the list argument to split, as in ${USAGE}`);
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new RangeError(
      `shard(): "count" must be a whole number of at least 1, got ${JSON.stringify(count)}`,
    );
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new TypeError(
      `shard(): the first argument must be the run's arguments (an object), as in ${USAGE}`,
    );
  }
  const list = (args as Record<string, unknown>)[arg];
  if (!Array.isArray(list)) {
    throw new TypeError(
      `shard(): args.${arg} must be a list to split across shards, but it is ${
        list === undefined ? 'missing' : list === null ? 'null' : typeof list
      }`,
    );
  }
  return { arg, count, list };
}

/** What `shard()` gave a run: its arguments, and its place among the shards when it runs one. */
export interface Sharded {
  args: Record<string, unknown>;
  /** Absent when the run has no shard index: it runs the whole list. */
  shard?: { index: number; count: number; items: number; of: number };
}

/**
 * `shard(args, { arg, count })` for a run with shard index `index` (none: one runner runs the
 * whole list, and `args` come back unchanged): a copy of `args` with `args[arg]` replaced by this
 * run's slice. An index the count does not reach is an error: the plan was split otherwise.
 */
export function applyShard(args: unknown, options: unknown, index: number | undefined): Sharded {
  const { arg, count, list } = checkShardRequest(args, options);
  const whole = args as Record<string, unknown>;
  if (index === undefined) return { args: whole };
  if (index >= count) {
    throw new RangeError(
      `shard(): this run is shard index ${index}, but the script splits args.${arg} into ${count} ` +
        `shard${count === 1 ? '' : 's'} (indexes 0 to ${count - 1}): run it with an index below ${count}`,
    );
  }
  const slice = splitShards(list, count)[index]!;
  return {
    args: { ...whole, [arg]: slice },
    shard: { index, count, items: slice.length, of: list.length },
  };
}
