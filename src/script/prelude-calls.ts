/**
 * The part of the prelude (prelude.ts) that carries the script's host calls: a fragment of the
 * prelude's function body, in the guest's JavaScript, set in where the prelude says `${CALLS}`. It
 * uses what the prelude took before it (`call`, `sync`, `LIMITS`, `encode`, `decode`, `parse`,
 * `apply`, `cut`) and defines `flush`, `hostSync`, `invoke`, `settle`, `settleMany` and
 * `watchCall`, which the rest of the prelude uses.
 *
 * The calls cross in batches, not one host function call each (a crossing costs more than
 * QuickJS's own work for a call): a call is a line of the batch, handed to the host at the end of
 * each slice (the host calls `flush`), before any sync call, and whenever the batch is large. Both
 * sides number the calls in order, so no id crosses back. A result settles its call's promise
 * here, and goes straight to a parallel() item that waits on that call (see watchCall).
 */
export const CALLS = `  // The host calls cross in batches: a call is a line of the batch (its name, a space, its
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
    call(batch);
    batch = '';
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
    // Whatever can fail (out of memory) comes before the call joins the batch, and undoes what
    // it must: the host never has a call that the prelude does not wait for.
    // The executor cannot throw out of the constructor (a promise catches it): should it fail to
    // make the waiter (out of memory), no waiter of an earlier call may stand in for this one.
    captured = undefined;
    const promise = new HostPromise(capture);
    const waiter = captured;
    if (waiter === undefined) throw new RangeError(name + '(): out of memory');
    waiter[2] = json.length;
    const line = name + ' ' + json + '\\n';
    const id = lastId + 1;
    waiting[id] = waiter;
    try {
      batch += line;
    } catch (e) {
      delete waiting[id];
      throw e;
    }
    lastId = id;
    held += json.length;
    lastPromise = promise;
    if (batch.length >= LIMITS.batch) flush();
    return promise;
  };
  // A call's waiter, taken from those waiting. Both sides count the calls alike: a result for a
  // call nobody waits for means they no longer do, and the run ends here, saying so, rather than
  // a result ever reaching the wrong call.
  const take = (id) => {
    const waiter = waiting[id];
    if (waiter === undefined) {
      throw new Error('dwf: the host answered call #' + id + ', which the script is not waiting for');
    }
    delete waiting[id];
    held -= waiter[2];
    return waiter;
  };
  // A primitive result also goes straight to the parallel() item waiting for it; an object (which
  // its promise may adopt, as a thenable) and an error go through a reaction, as any promise's do.
  // (The script's own code may run in a watch, a constructor getter on its promise, say: what it
  // throws fails that parallel(), never the settling of the other results.)
  const fulfil = (waiter, value) => {
    waiter[0](value);
    const item = waiter[3];
    if (item === undefined) return;
    if (value !== null && typeof value === 'object') item.watchLater(waiter[4], waiter[5]);
    else item.fulfilled(waiter[4], value);
  };
  const fail = (waiter, error) => {
    waiter[1](error);
    if (waiter[3] !== undefined) waiter[3].watchLater(waiter[4], waiter[5]);
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
  };`;
