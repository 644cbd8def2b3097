import type Anthropic from '@anthropic-ai/sdk';
import { expect, test } from 'vitest';
import { BatchQueue } from '../../src/models/batch.js';

/** A batch given up on (its polls failed) is sent again as ordinary calls: it must not also go on being billed. */
test('a batch whose polls fail is cancelled before its requests are sent again as ordinary calls', async () => {
  const cancelled: string[] = [];
  const fake = {
    messages: {
      batches: {
        create: async () => ({ id: 'msgbatch_1' }),
        retrieve: async () => {
          throw Object.assign(new Error('Service Unavailable'), { status: 503 });
        },
        results: async () => (async function* () {})(),
        cancel: async (id: string) => {
          cancelled.push(id);
          return { id };
        },
      },
    },
  } as unknown as Anthropic;
  const queue = new BatchQueue(fake, { windowMs: 5, pollFailures: 2, sleep: async () => undefined });
  const result = await queue.request(
    'a0_1_00',
    { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'q' }] },
    new AbortController().signal,
  );
  // The provider now sends the request again at the standard price (and the budget counts only that call).
  expect(result.type).toBe('errored');
  // Without the cancel, msgbatch_1 would go on being processed and billed beside the ordinary calls.
  expect(cancelled).toEqual(['msgbatch_1']);
});

/** The resume path: a recorded batch whose polls fail is cancelled before its requests are submitted again. */
test('a recorded batch whose polls fail is cancelled before its requests go in a new batch', async () => {
  const calls: string[] = [];
  const fake = {
    messages: {
      batches: {
        create: async () => {
          calls.push('create');
          return { id: 'msgbatch_2' };
        },
        retrieve: async (id: string) => {
          calls.push(`retrieve ${id}`);
          if (id === 'msgbatch_1') throw Object.assign(new Error('Service Unavailable'), { status: 503 });
          return { processing_status: 'ended' };
        },
        results: async () =>
          (async function* () {
            yield { custom_id: 'a0_1_00', result: { type: 'canceled' } };
          })(),
        cancel: async (id: string) => {
          calls.push(`cancel ${id}`);
          // A failed cancel is only noted: the requests still get their answer.
          throw Object.assign(new Error('Service Unavailable'), { status: 503 });
        },
      },
    },
  } as unknown as Anthropic;
  const queue = new BatchQueue(fake, {
    windowMs: 5,
    pollFailures: 2,
    sleep: async () => undefined,
    resume: [{ id: 'msgbatch_1', customIds: ['a0_1_00'] }],
  });
  const result = await queue.request(
    'a0_1_00',
    { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'q' }] },
    new AbortController().signal,
  );
  expect(result.type).toBe('canceled');
  expect(calls).toEqual([
    'retrieve msgbatch_1',
    'retrieve msgbatch_1',
    'cancel msgbatch_1',
    // One more poll after a failed cancel (the batch may have ended meanwhile), then a new batch.
    'retrieve msgbatch_1',
    'create',
    'retrieve msgbatch_2',
  ]);
});
