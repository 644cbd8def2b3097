import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, test } from 'vitest';
import { BatchQueue } from '../../src/models/batch.js';

/**
 * Attacks on the Message Batches provider's queue through a stand-in of the SDK client: results
 * that do not belong to the request, an endpoint that never ends a batch.
 */

const params = (text: string) =>
  ({
    model: 'm',
    max_tokens: 10,
    messages: [{ role: 'user', content: text }],
  }) as Anthropic.MessageCreateParamsNonStreaming;

const succeeded = (text: string) => ({
  type: 'succeeded' as const,
  message: { id: text, content: [{ type: 'text', text }], usage: { input_tokens: 1, output_tokens: 1 } },
});

function client(o: {
  results?: (ids: string[]) => Array<{ custom_id: string; result: unknown }>;
  ends?: boolean;
  retrieveFails?: boolean;
}) {
  const calls = { create: 0, retrieve: 0, cancel: [] as string[], submitted: [] as string[][] };
  let ids: string[] = [];
  const fake = {
    messages: {
      batches: {
        create: async (body: { requests: Array<{ custom_id: string }> }) => {
          calls.create++;
          ids = body.requests.map((r) => r.custom_id);
          calls.submitted.push(ids);
          return { id: `msgbatch_${calls.create}` };
        },
        retrieve: async (_id: string, _q: unknown, opts: { signal: AbortSignal }) => {
          calls.retrieve++;
          if (opts.signal.aborted) throw opts.signal.reason;
          if (o.retrieveFails) throw Object.assign(new Error('Service Unavailable'), { status: 503 });
          return { processing_status: o.ends === false ? 'in_progress' : 'ended' };
        },
        results: async () =>
          (async function* () {
            for (const line of o.results?.(ids) ?? []) yield line;
          })(),
        cancel: async (id: string) => {
          calls.cancel.push(id);
          return { id };
        },
      },
    },
  } as unknown as Anthropic;
  return { fake, calls };
}

describe('batch results are matched to their own requests only', () => {
  test('extra, foreign and duplicated result lines: each request gets its own result or is sent again', async () => {
    const { fake } = client({
      results: (ids) => [
        { custom_id: 'a99_1_ffffffffffffffffffffffffffffffff', result: succeeded('foreign') },
        { custom_id: ids[0]!, result: succeeded('first for 0') },
        { custom_id: ids[0]!, result: succeeded('answer 0') },
        // ids[1] left out: treated as expired, sent again as an ordinary call by the provider.
      ],
    });
    const queue = new BatchQueue(fake, { windowMs: 5, sleep: async () => undefined });
    const signal = new AbortController().signal;
    const [r0, r1] = await Promise.all([
      queue.request('a0_1_00', params('q0'), signal),
      queue.request('a1_1_11', params('q1'), signal),
    ]);
    expect(r0).toMatchObject({ type: 'succeeded', message: { id: 'answer 0' } });
    expect(r1).toEqual({ type: 'expired' });
  });

  test('an endpoint that never ends a batch: the run stopping (its signal) stops the polling', async () => {
    const { fake, calls } = client({ ends: false });
    const stop = new AbortController();
    const queue = new BatchQueue(fake, {
      windowMs: 5,
      sleep: (_ms, s) =>
        new Promise((resolve, reject) => {
          const t = setTimeout(resolve, 1);
          s.addEventListener('abort', () => {
            clearTimeout(t);
            reject(s.reason);
          });
        }),
    });
    const pending = queue.request('a0_1_00', params('q0'), stop.signal);
    await new Promise((r) => setTimeout(r, 100));
    stop.abort(new Error('budget exhausted'));
    await expect(pending).rejects.toThrow('budget exhausted');
    const polled = calls.retrieve;
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.retrieve).toBe(polled);
  });
});
