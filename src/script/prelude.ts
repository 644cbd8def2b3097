/**
 * The workflow language's globals, written in the guest's own JavaScript so that `parallel` and
 * `pipeline` have exactly the language's semantics with no host round trip per item. The host
 * exposes two functions, `call` (async: a batch of calls, JSON in, JSON out) and `sync`; this
 * prelude hides them.
 *
 * Every guest value the host needs is turned into a string here, in the guest, while the host's
 * interrupt handler meters the time: a `toJSON`, `toString` or getter that never returns is stopped
 * like any other endless loop, and the host only ever copies plain strings of a bounded size.
 * The prelude returns `[describe, tagKind, settle, settleMany, flush]`, which the host calls (also
 * metered): `describe` reads a thrown value, `tagKind` records the kind of a host call's error (see
 * HostErrorKind in host.ts) where the script can neither reach nor forge it; `describe` reports
 * it. The script's calls wait here in a batch that goes through `call` when the host calls `flush`
 * at the end of each slice, or sooner: before a sync call, or once it is large; both sides
 * number them 1, 2, … in order, and `settle(id, failed, value)` settles the promise the prelude
 * made for one (a result comes as JSON and is decoded here): the promise's resolvers stay here,
 * out of the script's reach, and the host hands over a result without making and freeing a
 * promise's handles; `settleMany` hands over many results in one call.
 * `LIMITS` (`GUEST_LIMITS` in limits.ts) is filled in by the host.
 */
export const PRELUDE = `(function (call, sync, argsJson, budgetTotal, LIMITS) {
  'use strict';
  const g = globalThis;
  // Taken before the script runs, so a script that replaces them cannot change what the host reads.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const toText = String;
  const apply = Reflect.apply;
  const cut = String.prototype.slice;
  const MAX_LIST = LIMITS.list;
  const decode = (s) => (s === undefined ? undefined : parse(s));
  const clip = (text, max, what) =>
    text.length <= max
      ? text
      : text.slice(0, max) + ' … [' + what + ' cut: ' + (text.length - max) + ' of ' + text.length + ' characters not shown]';
  const encode = (name, list) => {
    const json = stringify(list);
    if (json.length > LIMITS.call) {
      throw new RangeError(
        name + '(): its arguments come to ' + json.length + ' characters as JSON; the limit is ' + LIMITS.call +
          ' per call. Pass less: summarize earlier results first, or let the agent read the files itself.',
      );
    }
    return json;
  };
  // The host calls cross in batches: a call is a line of the batch (its name, a space, its
  // arguments' JSON, which has no raw line break), handed to the host (flush) at the end of each
  // slice, before any sync call (so it sees every call in the order the script made it) and
  // whenever it reaches LIMITS.batch characters. The calls are numbered 1, 2, … in that order,
  // here and in the host alike, so no id crosses back; their resolvers wait here by id.
  const HostPromise = Promise;
  const waiting = { __proto__: null };
  let lastId = 0;
  let batch = '';
  // Characters of arguments of the calls in flight; the host counts the same and checks it too.
  let held = 0;
  const flush = () => {
    if (batch === '') return;
    const text = batch;
    batch = '';
    call(text);
  };
  const hostSync = (name, json) => {
    flush();
    return sync(name, json);
  };
  // The executor of every call's promise. A call's waiter is [resolve, reject, characters held],
  // to which parallel() may add [item, index, promise] to be told of its result (see watchCall).
  let captured;
  // All six places are the waiter's own, so that none is read from Array.prototype.
  const capture = (resolve, reject) => {
    captured = [resolve, reject, 0, undefined, 0, undefined];
  };
  // The promise of the newest call, whose id is lastId.
  let lastPromise;
  const invoke = (name, list) => {
    const json = encode(name, list);
    if (held + json.length > LIMITS.held) {
      throw new RangeError(
        name + '(): the calls still in flight hold ' + held + ' characters of prompts and arguments, and this one ' +
          json.length + ' more; the limit is ' + LIMITS.held + ' at once. Start fewer agents at a time ' +
          '(pipeline() or batches), or pass shorter prompts.',
      );
    }
    held += json.length;
    batch += name + ' ' + json + '\\n';
    const id = ++lastId;
    const promise = new HostPromise(capture);
    captured[2] = json.length;
    waiting[id] = captured;
    lastPromise = promise;
    if (batch.length >= LIMITS.batch) flush();
    return promise;
  };
  // A call's waiter, taken from those waiting.
  const take = (id) => {
    const waiter = waiting[id];
    delete waiting[id];
    held -= waiter[2];
    return waiter;
  };
  // A primitive result also goes straight to the parallel() item waiting for it; an object (which
  // its promise may adopt, as a thenable) and an error go through a reaction, as any promise's do.
  const fulfil = (waiter, value) => {
    waiter[0](value);
    const item = waiter[3];
    if (item === undefined) return;
    if (value !== null && typeof value === 'object') item.watch(waiter[4], waiter[5]);
    else item.fulfilled(waiter[4], value);
  };
  const fail = (waiter, error) => {
    waiter[1](error);
    if (waiter[3] !== undefined) waiter[3].watch(waiter[4], waiter[5]);
  };
  // A result comes as its JSON (undefined for none) and is decoded here, not in a reaction of its own.
  const settle = (id, failed, value) => {
    const waiter = take(id);
    if (failed) return fail(waiter, value);
    let decoded;
    try {
      decoded = decode(value);
    } catch (e) {
      return fail(waiter, e);
    }
    fulfil(waiter, decoded);
  };
  // Resolves calls in order, from [id, length, id, length, …] as JSON and the JSON array of their
  // results (length -1: no result, and none in the array), decoded at once. Should that fail (a
  // result too deep for the stack, say), each result is decoded on its own and fails alone.
  const settleMany = (header, payload) => {
    const fields = parse(header);
    let values;
    try {
      values = parse(payload);
    } catch (_) {
      values = undefined;
    }
    let at = 1;
    let next = 0;
    for (let i = 0; i < fields.length; i += 2) {
      const length = fields[i + 1];
      if (length < 0) {
        fulfil(take(fields[i]), undefined);
      } else if (values !== undefined) {
        fulfil(take(fields[i]), values[next++]);
      } else {
        settle(fields[i], false, apply(cut, payload, [at, at + length]));
      }
      if (length >= 0) at += length + 1;
    }
  };
  // Whether a parallel() item's value is the promise of a call in flight that nothing else
  // watches for parallel(): then the item waits on the call itself, with no reaction of its own.
  const watchCall = (value, item, index) => {
    if (value !== lastPromise) return false;
    const waiter = waiting[lastId];
    if (waiter === undefined || waiter[3] !== undefined) return false;
    waiter[3] = item;
    waiter[4] = index;
    waiter[5] = value;
    return true;
  };
  const invokeSync = (name, list) => decode(hostSync(name, stringify(list)));
  const define = (name, value) =>
    Object.defineProperty(g, name, { value, writable: false, enumerable: false, configurable: false });
  const describe = (e) =>
    clip(e && typeof e === 'object' && 'message' in e ? toText(e.message) : toText(e), LIMITS.text, 'message');
  const checkList = (fn, list, what) => {
    if (!Array.isArray(list)) throw new TypeError(fn + '() takes an array of ' + what);
    if (list.length > MAX_LIST) {
      throw new RangeError(
        fn + '() got ' + list.length + ' items; the limit is ' + MAX_LIST +
          ' per call. Split the list into batches of at most ' + MAX_LIST + '.',
      );
    }
  };
  const report = (where, error) => hostSync('itemFailed', stringify([where, describe(error)]));
  // Taken before the script runs, so a script that replaces them cannot read or forge a kind.
  const kinds = new WeakMap();
  const getKind = WeakMap.prototype.get;
  const setKind = WeakMap.prototype.set;
  const tagKind = (e, kind) => {
    apply(setKind, kinds, [e, kind]);
  };

  /** A thrown value as JSON {name?, message, stack?}; reading it may run the script's getters. */
  const describeThrown = (e) => {
    const out = {};
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      const kind = apply(getKind, kinds, [e]);
      if (kind !== undefined) out.kind = kind;
      for (const key of ['name', 'message', 'stack']) {
        try {
          const value = e[key];
          if (value !== undefined && value !== null) out[key] = clip(toText(value), LIMITS.text, key);
        } catch (_) {
          // A getter that throws leaves that part out.
        }
      }
      if (out.message === undefined) {
        let text;
        try {
          const json = stringify(e);
          if (typeof json === 'string') text = json;
        } catch (_) {
          // not JSON: try its text
        }
        if (text === undefined) {
          try {
            text = toText(e);
          } catch (_) {
            text = 'a value that cannot be shown';
          }
        }
        out.message = clip(text, LIMITS.text, 'message');
      }
    } else {
      out.message = clip(toText(e), LIMITS.text, 'message');
    }
    return stringify(out);
  };

  define('args', decode(argsJson));

  define('agent', function agent(prompt, opts) {
    return invoke('agent', [prompt, opts === undefined ? null : opts]);
  });

  // One reaction per item at most: each item's promise settles its place in the list, and the
  // last one resolves the whole, as Promise.all over the items' own .then(undefined, handler)
  // would but with half the promises; an item that is a host call's promise waits on the call
  // itself (see watchCall). A hole in the list is skipped, as map() would, and gives undefined.
  const promiseResolve = Promise.resolve;
  const promiseThen = Promise.prototype.then;
  const ListOf = Array;
  const listFrom = Array.from;
  define('parallel', function parallel(thunks) {
    checkList('parallel', thunks, 'functions');
    const count = thunks.length;
    for (let i = 0; i < count; i++) {
      const t = thunks[i];
      if (typeof t !== 'function' && (t !== undefined || i in thunks)) {
        throw new TypeError(
          'parallel() takes functions, but item ' + i + ' is ' + (t === null ? 'null' : typeof t) +
            '; wrap each call: parallel(items.map((x) => () => agent(...)))',
        );
      }
    }
    let resolveAll;
    let rejectAll;
    const all = new HostPromise((resolve, reject) => {
      resolveAll = resolve;
      rejectAll = reject;
    });
    // Its own places from the start, as Promise.all's list has: no setter on Array.prototype runs.
    const results = apply(listFrom, ListOf, [{ __proto__: null, length: count }]);
    let left = count + 1;
    const done = () => {
      if (--left === 0) resolveAll(results);
    };
    const item = {
      fulfilled: (i, value) => {
        results[i] = value;
        done();
      },
      failed: (i, e) => {
        try {
          report('parallel item ' + i, e);
        } catch (error) {
          rejectAll(error);
          return;
        }
        results[i] = null;
        done();
      },
      watch: (i, pending) =>
        apply(promiseThen, pending, [(value) => item.fulfilled(i, value), (e) => item.failed(i, e)]),
    };
    for (let i = 0; i < count; i++) {
      const thunk = thunks[i];
      if (thunk === undefined && !(i in thunks)) {
        done();
        continue;
      }
      let pending;
      try {
        const value = thunk();
        if (watchCall(value, item, i)) continue;
        pending = apply(promiseResolve, HostPromise, [value]);
      } catch (e) {
        report('parallel item ' + i, e);
        results[i] = null;
        done();
        continue;
      }
      item.watch(i, pending);
    }
    done();
    return all;
  });

  define('pipeline', function pipeline(items, ...stages) {
    checkList('pipeline', items, 'items');
    stages.forEach((s, i) => {
      if (typeof s !== 'function') throw new TypeError('pipeline() stage ' + i + ' is not a function');
    });
    return Promise.all(
      items.map(async (item, index) => {
        let value = item;
        for (let s = 0; s < stages.length; s++) {
          try {
            value = await stages[s](value, item, index);
          } catch (e) {
            report('pipeline item ' + index + ' stage ' + s, e);
            return null;
          }
        }
        return value;
      }),
    );
  });

  define('phase', function phase(title) {
    const text = toText(title);
    if (text.length > LIMITS.phase) {
      throw new RangeError('phase(title): the title is ' + text.length + ' characters; the limit is ' + LIMITS.phase);
    }
    hostSync('phase', stringify([text]));
  });

  // One line is cut to LIMITS.logLine characters, with a note saying how much was cut.
  const log = function log(...parts) {
    const line = parts.map((p) => (typeof p === 'string' ? p : stringify(p))).join(' ');
    hostSync('log', stringify([clip(line, LIMITS.logLine, 'log line')]));
  };
  define('log', log);
  define('console', Object.freeze({ log, info: log, warn: log, error: log, debug: log }));

  define(
    'budget',
    Object.freeze({
      total: budgetTotal === null ? Infinity : budgetTotal,
      spent: () => invokeSync('budgetSpent', []),
      remaining: () => {
        const left = invokeSync('budgetRemaining', []);
        return left === null ? Infinity : left;
      },
    }),
  );

  define('oracle', function oracle() {
    return invoke('oracle', []);
  });

  define('workflow', function workflow(nameOrRef, workflowArgs) {
    return invoke('workflow', [nameOrRef, workflowArgs === undefined ? null : workflowArgs]);
  });

  // This run's slice of a list argument (see script/shard.ts); the whole list without a shard index.
  define('shard', function shard(shardArgs, opts) {
    return decode(hostSync('shard', encode('shard', [shardArgs === undefined ? null : shardArgs, opts === undefined ? null : opts])));
  });

  // Runs must replay: anything that reads the clock or randomness throws.
  const RealDate = Date;
  const noClock = (what) => {
    throw new Error(
      what + ' is not available in workflow scripts: runs must replay the same way. ' +
        'Pass times in through args, e.g. new Date(args.now).',
    );
  };
  function SafeDate(...a) {
    if (!new.target) noClock('Date()');
    if (a.length === 0) noClock('new Date() without arguments');
    return Reflect.construct(RealDate, a, new.target);
  }
  SafeDate.prototype = RealDate.prototype;
  SafeDate.parse = RealDate.parse;
  SafeDate.UTC = RealDate.UTC;
  SafeDate.now = function now() {
    noClock('Date.now()');
  };
  Object.defineProperty(RealDate.prototype, 'constructor', { value: SafeDate });
  g.Date = SafeDate;
  Math.random = function random() {
    throw new Error(
      'Math.random() is not available in workflow scripts: runs must replay the same way. ' +
        'Derive variety from the data, e.g. the item index.',
    );
  };
  return [describeThrown, tagKind, settle, settleMany, flush];
})`;

/**
 * The prelude as each instance compiles it: without its comment lines and indentation, a third
 * fewer characters for QuickJS to read every run (its compile took 2.0 instead of 2.3 ms here).
 * Its code has no string or template spanning lines, so this changes no statement.
 */
export const PRELUDE_SOURCE = PRELUDE.split('\n')
  .filter((line) => !/^\s*\/\//.test(line))
  .map((line) => line.trim())
  .join('\n');
