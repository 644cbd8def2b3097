/**
 * The workflow language's globals, written in the guest's own JavaScript so that `parallel` and
 * `pipeline` have exactly the language's semantics with no host round trip per item. The host
 * exposes two functions, `call` (async, JSON in, JSON out) and `sync`; this prelude hides them.
 * `parallel` and `pipeline` refuse lists over MAX_LIST items; the number is filled in by the host.
 */
export const PRELUDE = `(function (call, sync, argsJson, budgetTotal, MAX_LIST) {
  'use strict';
  const g = globalThis;
  const decode = (s) => (s === undefined ? undefined : JSON.parse(s));
  const invoke = (name, list) => call(name, JSON.stringify(list)).then(decode);
  const invokeSync = (name, list) => decode(sync(name, JSON.stringify(list)));
  const define = (name, value) =>
    Object.defineProperty(g, name, { value, writable: false, enumerable: false, configurable: false });
  const describe = (e) => (e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e));
  const checkList = (fn, list, what) => {
    if (!Array.isArray(list)) throw new TypeError(fn + '() takes an array of ' + what);
    if (list.length > MAX_LIST) {
      throw new RangeError(
        fn + '() got ' + list.length + ' items; the limit is ' + MAX_LIST +
          ' per call. Split the list into batches of at most ' + MAX_LIST + '.',
      );
    }
  };
  const report = (where, error) => sync('itemFailed', JSON.stringify([where, describe(error)]));

  define('args', decode(argsJson));

  define('agent', function agent(prompt, opts) {
    return invoke('agent', [prompt, opts === undefined ? null : opts]);
  });

  define('parallel', function parallel(thunks) {
    checkList('parallel', thunks, 'functions');
    thunks.forEach((t, i) => {
      if (typeof t !== 'function') {
        throw new TypeError(
          'parallel() takes functions, but item ' + i + ' is ' + (t === null ? 'null' : typeof t) +
            '; wrap each call: parallel(items.map((x) => () => agent(...)))',
        );
      }
    });
    return Promise.all(
      thunks.map((thunk, i) => {
        let pending;
        try {
          pending = Promise.resolve(thunk());
        } catch (e) {
          report('parallel item ' + i, e);
          return null;
        }
        return pending.then(undefined, (e) => {
          report('parallel item ' + i, e);
          return null;
        });
      }),
    );
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
    sync('phase', JSON.stringify([String(title)]));
  });

  const log = function log(...parts) {
    sync('log', JSON.stringify([parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')]));
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
})`;
