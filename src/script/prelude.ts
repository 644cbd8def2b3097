import { CALLS } from './prelude-calls.js';

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
 * promise's handles; `settleMany` hands over many results in one call. That part of the prelude
 * is in prelude-calls.ts.
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
  // A text cut to max characters, with a note; the slice is the one taken above, not the script's.
  const clip = (text, max, what) =>
    text.length <= max
      ? text
      : apply(cut, text, [0, max]) + ' … [' + what + ' cut: ' + (text.length - max) + ' of ' + text.length + ' characters not shown]';
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
${CALLS}
  // Every sync call's arguments go through encode, so none longer than LIMITS.call reaches the
  // host, whatever toJSON the script gives a list or its items.
  const invokeSync = (name, list) => decode(hostSync(name, encode(name, list)));
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
  const report = (where, error) => hostSync('itemFailed', encode('itemFailed', [where, describe(error)]));
  // Taken before the script runs, so a script that replaces them cannot read or forge a kind.
  const kinds = new WeakMap();
  const getKind = WeakMap.prototype.get;
  const setKind = WeakMap.prototype.set;
  const tagKind = (e, kind) => {
    apply(setKind, kinds, [e, kind]);
  };

  /** A thrown value as JSON {name?, message, stack?}; reading it may run the script's getters. */
  // Written on an object with no prototype and read by index, so that no toJSON, setter or
  // iterator the script puts on Object.prototype or Array.prototype can change or add a part.
  const PARTS = ['name', 'message', 'stack'];
  const describeThrown = (e) => {
    const out = { __proto__: null };
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      const kind = apply(getKind, kinds, [e]);
      if (kind !== undefined) out.kind = kind;
      for (let i = 0; i < 3; i++) {
        const key = PARTS[i];
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
      watchLater: (i, pending) => {
        try {
          item.watch(i, pending);
        } catch (error) {
          rejectAll(error);
        }
      },
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
    hostSync('phase', encode('phase', [text]));
  });

  // One line is cut to LIMITS.logLine characters, with a note saying how much was cut.
  // The line is joined here, not by the script's Array.prototype.map or join: it is a string.
  const log = function log(...parts) {
    let line = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const text = typeof p === 'string' ? p : stringify(p);
      line += (i === 0 ? '' : ' ') + (text === undefined ? '' : text);
    }
    hostSync('log', encode('log', [clip(line, LIMITS.logLine, 'log line')]));
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
