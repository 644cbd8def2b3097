/**
 * A local stand-in of the Message Batches endpoints, beside the diligent Messages API (server.ts):
 * `POST /v1/messages/batches` (`{ requests: [{ custom_id, params }] }` → a `message_batch`),
 * `GET /v1/messages/batches/{id}` (in progress for the configured number of polls, then ended with
 * its request counts and `results_url`), `GET /v1/messages/batches/{id}/results` (JSONL, one line a
 * request, in reverse order so that a client must match by `custom_id`), `POST
 * /v1/messages/batches/{id}/cancel` (the batch is `canceling`, ended at the next retrieval: each
 * request canceled, or succeeded and billed when it had finished before the cancel). Each request's fate is the
 * test's to say: succeeded (answered by the diligent model and billed as batched), errored, expired
 * or canceled. Checks what the API checks: custom ids unique in a batch, of 1–64 letters, digits,
 * `-` and `_`.
 */
import type { Answered, Json } from './server.js';

export type BatchFate = 'succeeded' | 'errored' | 'expired' | 'canceled';

export interface BatchBehaviour {
  /** What becomes of a request: by its custom id and its place among all requests submitted (from 0). */
  fate?(customId: string, n: number): BatchFate;
  /** Retrievals that still find a batch in progress (default 1). */
  pollsBeforeEnd?: number;
  /** The endpoint has no Batches API: creating a batch answers 404. */
  noBatches?: boolean;
  /** An outage: the first this many retrievals (over all batches) answer 503. */
  failingRetrievals?: number;
  /** What a cancel leaves of a request (default `canceled`; `succeeded`: it had finished, and is billed). */
  fateOnCancel?(customId: string, n: number): BatchFate;
  /** Cancels answer 503. */
  cancelFails?: boolean;
}

export interface BatchRecord {
  created: Array<{ id: string; customIds: string[] }>;
  /** Creations refused (`noBatches`). */
  refused: number;
  retrievals: number;
  resultsServed: number;
  /** The batches canceled (cancels that answered 503 not included). */
  canceled: string[];
  /** Requests by fate, over all batches. */
  fates: Record<BatchFate, number>;
}

interface StoredBatch {
  id: string;
  requests: Array<{ custom_id: string; params: Json }>;
  polls: number;
  created: string;
  /** Set by a cancel: the next retrieval ends the batch with `fateOnCancel`. */
  canceling?: boolean;
  results?: Array<{ custom_id: string; result: Json }>;
}

const CUSTOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function batchEndpoints(
  answerOf: (body: Json, batched: boolean) => Answered,
  baseUrl: () => string,
  behaviour: BatchBehaviour = {},
) {
  const batches = new Map<string, StoredBatch>();
  const record: BatchRecord = {
    created: [],
    refused: 0,
    retrievals: 0,
    resultsServed: 0,
    canceled: [],
    fates: { succeeded: 0, errored: 0, expired: 0, canceled: 0 },
  };
  let submitted = 0;
  const json = (status: number, body: unknown) => ({
    status,
    type: 'application/json',
    body: JSON.stringify(body),
  });
  const invalid = (message: string) =>
    json(400, { type: 'error', error: { type: 'invalid_request_error', message } });

  /** Ends a batch: each request meets its fate; the succeeded ones are answered now. */
  const end = (batch: StoredBatch) => {
    batch.results = batch.requests.map(({ custom_id, params }) => {
      const fate = batch.canceling
        ? (behaviour.fateOnCancel?.(custom_id, submitted++) ?? 'canceled')
        : (behaviour.fate?.(custom_id, submitted++) ?? 'succeeded');
      record.fates[fate]++;
      if (fate === 'errored')
        return {
          custom_id,
          result: {
            type: 'errored',
            error: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
          },
        };
      if (fate !== 'succeeded') return { custom_id, result: { type: fate } };
      const answered = answerOf(params, true);
      answered.commit();
      return answered.status === 200
        ? { custom_id, result: { type: 'succeeded', message: answered.message } }
        : { custom_id, result: { type: 'errored', error: answered.message } };
    });
  };

  const view = (batch: StoredBatch) => {
    const ended = batch.results !== undefined;
    const count = (type: string) => batch.results?.filter((r) => r.result.type === type).length ?? 0;
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : batch.canceling ? 'canceling' : 'in_progress',
      request_counts: {
        processing: ended ? 0 : batch.requests.length,
        succeeded: count('succeeded'),
        errored: count('errored'),
        canceled: count('canceled'),
        expired: count('expired'),
      },
      created_at: batch.created,
      expires_at: batch.created,
      ended_at: ended ? batch.created : null,
      archived_at: null,
      cancel_initiated_at: batch.canceling ? batch.created : null,
      results_url: ended ? `${baseUrl()}/v1/messages/batches/${batch.id}/results` : null,
    };
  };

  function handle(method: string, path: string, raw: string): { status: number; type: string; body: string } {
    if (method === 'POST' && path === '/v1/messages/batches') {
      if (behaviour.noBatches) {
        record.refused++;
        return json(404, { type: 'error', error: { type: 'not_found_error', message: 'Not Found' } });
      }
      const body = JSON.parse(raw) as Json;
      const requests = body.requests as StoredBatch['requests'] | undefined;
      if (!Array.isArray(requests) || requests.length === 0) return invalid('requests: at least one');
      const ids = requests.map((r) => r.custom_id);
      if (ids.some((id) => typeof id !== 'string' || !CUSTOM_ID.test(id)))
        return invalid('custom_id: 1-64 letters, digits, - and _');
      if (new Set(ids).size !== ids.length) return invalid('custom_id must be unique within a batch');
      const id = `msgbatch_${String(record.created.length + 1).padStart(4, '0')}`;
      const batch: StoredBatch = { id, requests, polls: 0, created: new Date(0).toISOString() };
      batches.set(id, batch);
      record.created.push({ id, customIds: ids });
      return json(200, view(batch));
    }
    const m = /^\/v1\/messages\/batches\/([\w-]+)(\/results|\/cancel)?$/.exec(path);
    const batch = m ? batches.get(m[1]!) : undefined;
    const unavailable = () =>
      json(503, { type: 'error', error: { type: 'api_error', message: 'Service Unavailable' } });
    if (method === 'POST' && batch && m![2] === '/cancel') {
      if (behaviour.cancelFails) return unavailable();
      if (batch.results) return invalid(`${batch.id} has ended: it cannot be canceled`);
      batch.canceling = true;
      record.canceled.push(batch.id);
      return json(200, view(batch));
    }
    if (method !== 'GET' || !batch || m![2] === '/cancel')
      return json(404, { type: 'error', error: { type: 'not_found_error', message: `no ${path}` } });
    if (!m![2]) {
      if (record.retrievals++ < (behaviour.failingRetrievals ?? 0)) return unavailable();
      if (!batch.results && (batch.canceling || ++batch.polls > (behaviour.pollsBeforeEnd ?? 1))) end(batch);
      return json(200, view(batch));
    }
    if (!batch.results) return invalid('the batch is still in progress');
    record.resultsServed++;
    const lines = [...batch.results].reverse().map((r) => JSON.stringify(r));
    return { status: 200, type: 'application/binary', body: `${lines.join('\n')}\n` };
  }
  return { handle, record };
}
