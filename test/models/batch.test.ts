import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { runWorkflow } from '../../src/engine/run.js';
import { reportAndCommit } from '../../src/flows/finish.js';
import type { FinishedRun } from '../../src/flows/run.js';
import { type BatchOptions, createBatchingProvider, type SubmittedBatch } from '../../src/models/batch.js';
import { costUsd } from '../../src/models/pricing.js';
import { resolveModel } from '../../src/models/resolve.js';
import type { ModelRequest } from '../../src/models/types.js';
import { createPlan } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/report/plan.js';
import type { BatchBehaviour } from '../cost/batch-server.js';
import { repoOf } from '../cost/harness.js';
import { realisticItsdangerous } from '../cost/realistic.js';
import { type DiligentServer, serverDollars, startDiligentServer } from '../cost/server.js';

const MODEL = 'claude-sonnet-5-5';
let server: DiligentServer | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The batching provider against the stand-in; polls recorded, never waited for. */
async function batching(behaviour: BatchBehaviour, extra: BatchOptions = {}) {
  server ??= await startDiligentServer({ batches: behaviour, latencyMs: 0 });
  const polls: number[] = [];
  const submitted: SubmittedBatch[] = [];
  const provider = createBatchingProvider({
    model: MODEL,
    apiKey: 'test-key',
    baseURL: server.url,
    maxRetries: 0,
    batch: {
      windowMs: 20,
      pollMs: 1000,
      maxPollMs: 4000,
      sleep: async (ms) => {
        polls.push(ms);
      },
      onSubmitted: (b) => submitted.push(b),
      ...extra,
    },
  });
  return { provider, polls, submitted, server };
}

const request = (index: number, task: string): ModelRequest => ({
  model: MODEL,
  system: 'You answer in one line.',
  messages: [{ role: 'user', content: task }],
  agent: { index, attempt: 1, phase: 'ask' },
  signal: new AbortController().signal,
});

describe('the Message Batches API (batch.ts) against a local stand-in', () => {
  test('requests arriving together go in one batch, polled with back-off, matched back by custom id', async () => {
    const { provider, polls, submitted, server } = await batching({ pollsBeforeEnd: 3 });
    expect(provider.modelFor('sonnet')).toBe(`${MODEL}?batch=1`);
    const replies = await Promise.all(
      [0, 1, 2].map((i) =>
        provider.complete({ ...request(i, `question ${i}`), model: provider.defaultModel }),
      ),
    );
    expect(server.batches.created).toHaveLength(1);
    expect(submitted).toEqual([{ id: 'msgbatch_0001', customIds: server.batches.created[0]!.customIds }]);
    expect(submitted[0]!.customIds).toHaveLength(3);
    // In progress three times: waits of 1 s, 2 s, then 4 s (the longest), then the results.
    expect(polls).toEqual([1000, 2000, 4000]);
    expect(server.batches.resultsServed).toBe(1);
    // The stand-in serves results in reverse order: each reply is still its own request's.
    for (const [i, reply] of replies.entries()) {
      expect(reply.model).toBe(MODEL);
      expect(reply.usage.batch).toEqual({ ...reply.usage, batch: undefined });
      expect(reply.text.length).toBeGreaterThan(0);
      expect(server.batches.created[0]!.customIds[i]).toMatch(/^a\d+_1_[0-9a-f]{32}$/);
    }
    expect(server.totals.requests).toBe(3);
    expect(server.totals.batch?.output).toBe(server.totals.output);
  });

  test('a batch is submitted as soon as it reaches its size in requests or in bytes', async () => {
    const { provider, server } = await batching({}, { maxRequests: 2, windowMs: 60_000 });
    await Promise.all([0, 1, 2, 3].map((i) => provider.complete(request(i, `q${i}`))));
    expect(server.batches.created.map((b) => b.customIds.length)).toEqual([2, 2]);
    const bytes = await batching({}, { maxBytes: 1, windowMs: 60_000 });
    await Promise.all([4, 5].map((i) => bytes.provider.complete(request(i, `q${i}`))));
    expect(bytes.server.batches.created.slice(2).map((b) => b.customIds.length)).toEqual([1, 1]);
  });

  test('errored, expired and canceled requests are sent again as ordinary calls, and the retry is told', async () => {
    const fates = ['errored', 'expired', 'canceled', 'succeeded'] as const;
    const { provider, server } = await batching({ fate: (_id, n) => fates[n % 4]! });
    const retries: string[] = [];
    const replies = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        provider.complete(request(i, `q${i}`), { onRetry: (n) => retries.push(n.reason) }),
      ),
    );
    expect(retries.sort()).toEqual([
      'batch request canceled, sent as an ordinary call',
      'batch request errored (api_error), sent as an ordinary call',
      'batch request expired, sent as an ordinary call',
    ]);
    expect(replies.filter((r) => r.usage.batch)).toHaveLength(1);
    expect(server.batches.fates).toEqual({ succeeded: 1, errored: 1, expired: 1, canceled: 1 });
    // 1 batched answer, 3 ordinary ones.
    expect(server.totals.requests).toBe(4);
  });

  test('a resumed job takes the results of a batch an earlier job recorded instead of submitting again', async () => {
    const first = await batching({});
    await first.provider.complete(request(0, 'the same question'));
    const recorded = first.submitted;
    expect(recorded).toHaveLength(1);
    const again = await batching({}, { resume: recorded });
    const reply = await again.provider.complete(request(0, 'the same question'));
    expect(reply.usage.batch).toBeDefined();
    expect(again.submitted).toEqual([]);
    expect(server!.batches.created).toHaveLength(1);
  });

  test('a run that stops while its batch is in progress stops polling it', async () => {
    server ??= await startDiligentServer({ batches: { pollsBeforeEnd: 1e9 }, latencyMs: 0 });
    const provider = createBatchingProvider({
      model: MODEL,
      apiKey: 'test-key',
      baseURL: server.url,
      batch: { windowMs: 5, pollMs: 5, maxPollMs: 5 },
    });
    const stop = new AbortController();
    const answer = provider.complete({ ...request(0, 'q'), signal: stop.signal });
    while (server.batches.retrievals < 3) await new Promise((r) => setTimeout(r, 5));
    stop.abort(new Error('the run was stopped'));
    await expect(answer).rejects.toThrow('the run was stopped');
    await new Promise((r) => setTimeout(r, 50));
    const polls = server.batches.retrievals;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.batches.retrievals).toBe(polls);
  });

  test('an endpoint without the Batches API: one refused batch, then ordinary calls only', async () => {
    const { provider, server } = await batching({ noBatches: true });
    const retries: string[] = [];
    await provider.complete(request(0, 'q0'), { onRetry: (n) => retries.push(n.reason) });
    const reply = await provider.complete(request(1, 'q1'), { onRetry: (n) => retries.push(n.reason) });
    expect(reply.usage.batch).toBeUndefined();
    expect(server.batches.refused).toBe(1);
    expect(server.totals.requests).toBe(2);
    expect(retries).toEqual([
      'batch request errored (api_error), sent as an ordinary call',
      'batch request errored (api_error), sent as an ordinary call',
    ]);
  });

  test('a batch whose polls fail is canceled before its requests are sent again; what it answered is used and counted', async () => {
    // An outage: the first 5 polls fail (pollFailures' default), then the batch is canceled; half of
    // its requests had finished before the cancel (billed), the rest are canceled.
    const { provider, server } = await batching({
      failingRetrievals: 5,
      fateOnCancel: (_id, n) => (n % 2 === 0 ? 'succeeded' : 'canceled'),
    });
    const retries: string[] = [];
    const canceledAtRetry: string[][] = [];
    const replies = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        provider.complete(request(i, `q${i}`), {
          onRetry: (n) => {
            retries.push(n.reason);
            canceledAtRetry.push([...server.batches.canceled]);
          },
        }),
      ),
    );
    expect(server.batches.canceled).toEqual(['msgbatch_0001']);
    // Canceled before any of its requests was sent again as an ordinary call.
    expect(canceledAtRetry).toEqual([['msgbatch_0001'], ['msgbatch_0001']]);
    expect(retries).toEqual([
      'batch request canceled, sent as an ordinary call',
      'batch request canceled, sent as an ordinary call',
    ]);
    // The two answered before the cancel are used (not paid again), and every billed token is counted.
    expect(replies.filter((r) => r.usage.batch)).toHaveLength(2);
    expect(server.totals.requests).toBe(4);
    const sum = (f: (r: (typeof replies)[number]) => number) => replies.reduce((n, r) => n + f(r), 0);
    expect(sum((r) => r.usage.outputTokens)).toBe(server.totals.output);
    expect(sum((r) => r.usage.inputTokens)).toBe(server.totals.input);
    expect(sum((r) => r.usage.batch?.outputTokens ?? 0)).toBe(server.totals.batch!.output);
  });

  test('a batch given up on whose cancel fails or whose results stay unreadable: ordinary calls, the event log says so', async () => {
    const down = await batching({ failingRetrievals: 1e9, cancelFails: true }, { pollFailures: 2 });
    const retries: string[] = [];
    const reply = await down.provider.complete(request(0, 'q0'), { onRetry: (n) => retries.push(n.reason) });
    expect(reply.usage.batch).toBeUndefined();
    expect(down.server.batches.canceled).toEqual([]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(
      /^batch msgbatch_0001 given up on \(.*\), its cancel failed \(.*\): it may go on being processed and billed; sent as an ordinary call$/,
    );
    await server!.close();
    server = undefined;
    const unreadable = await batching({ failingRetrievals: 1e9 }, { pollFailures: 2 });
    const notes: string[] = [];
    await unreadable.provider.complete(request(0, 'q0'), { onRetry: (n) => notes.push(n.reason) });
    expect(unreadable.server.batches.canceled).toEqual(['msgbatch_0001']);
    expect(notes[0]).toMatch(/^batch msgbatch_0001 given up on \(.*\), canceled, its results unreadable/);
    // 2 failed polls, the cancel, 2 more failed polls: then the ordinary call.
    expect(unreadable.server.batches.retrievals).toBe(4);
    expect(unreadable.server.totals.requests).toBe(1);
  });

  /** A first job that submits the batch of `questions` and runs out of time while it is in progress. */
  async function recordedBatch(behaviour: BatchBehaviour, questions: string[]) {
    const first = await batching(behaviour);
    const stop = new AbortController();
    const asked = questions.map((q, i) =>
      first.provider.complete({ ...request(i, q), signal: stop.signal }).catch(() => 'stopped'),
    );
    while (first.submitted.length === 0) await new Promise((r) => setTimeout(r, 5));
    stop.abort(new Error('the job ran out of time'));
    expect(await Promise.all(asked)).toEqual(questions.map(() => 'stopped'));
    // A poll in flight when the job stopped may still reach the stand-in: wait until none does.
    for (let seen = -1; seen !== server!.batches.retrievals; ) {
      seen = server!.batches.retrievals;
      await new Promise((r) => setTimeout(r, 50));
    }
    return first.submitted;
  }

  test('a resumed job cancels a recorded batch whose polls fail, and takes what it answered before the cancel', async () => {
    const behaviour: BatchBehaviour = { pollsBeforeEnd: 1e9 };
    const recorded = await recordedBatch(behaviour, ['q0', 'q1']);
    // The next job polls the recorded batch: 5 polls fail, it is canceled with one request finished.
    behaviour.failingRetrievals = server!.batches.retrievals + 5;
    behaviour.fateOnCancel = (id) => (id === recorded[0]!.customIds[0] ? 'succeeded' : 'canceled');
    const again = await batching(behaviour, { resume: recorded });
    const retries: string[] = [];
    const canceledAtRetry: string[][] = [];
    const observer = {
      onRetry: (n: { reason: string }) => {
        retries.push(n.reason);
        canceledAtRetry.push([...server!.batches.canceled]);
      },
    };
    const replies = await Promise.all(
      [0, 1].map((i) => again.provider.complete(request(i, `q${i}`), observer)),
    );
    expect(server!.batches.canceled).toEqual(['msgbatch_0001']);
    expect(replies[0]!.usage.batch).toBeDefined();
    expect(replies[1]!.usage.batch).toBeUndefined();
    expect(retries).toEqual(['batch request canceled, sent as an ordinary call']);
    expect(canceledAtRetry).toEqual([['msgbatch_0001']]);
    expect(again.submitted).toEqual([]);
    expect(server!.totals.requests).toBe(2);
    expect(replies[0]!.usage.outputTokens + replies[1]!.usage.outputTokens).toBe(server!.totals.output);
  });

  test('a resumed job whose recorded batch stays unreadable cancels it before submitting its requests anew', async () => {
    const behaviour: BatchBehaviour = { pollsBeforeEnd: 1e9 };
    const recorded = await recordedBatch(behaviour, ['q0', 'q1']);
    // 5 failed polls, the cancel, 5 more failed polls: given up on.
    behaviour.failingRetrievals = server!.batches.retrievals + 10;
    behaviour.pollsBeforeEnd = 1;
    const canceledAtSubmission: string[][] = [];
    const again = await batching(behaviour, {
      resume: recorded,
      onSubmitted: () => canceledAtSubmission.push([...server!.batches.canceled]),
    });
    const replies = await Promise.all([0, 1].map((i) => again.provider.complete(request(i, `q${i}`))));
    expect(replies.every((r) => r.usage.batch)).toBe(true);
    expect(canceledAtSubmission).toEqual([['msgbatch_0001']]);
    expect(server!.batches.created.map((b) => b.customIds.length)).toEqual([2, 2]);
  });

  test('anthropic:MODEL?batch=1 resolves to the batching provider; a bad value is refused', () => {
    const env = { ANTHROPIC_API_KEY: 'k' };
    expect(resolveModel(`anthropic:${MODEL}?batch=1`, { env }).id).toBe(`anthropic:${MODEL}?batch=1`);
    expect(resolveModel(`anthropic:${MODEL}`, { env }).withBatches?.().defaultModel).toBe(`${MODEL}?batch=1`);
    expect(() => resolveModel(`anthropic:${MODEL}?batch=yes`, { env })).toThrow(/batch must be 1/);
  });
});

describe('an audit through the Batches API (issue 15)', () => {
  test('every agent answers, the tokens are priced at the batch rate, and the report shows the saving', async () => {
    const repo = repoOf(realisticItsdangerous());
    const runsDir = mkdtempSync(join(tmpdir(), 'dwf-batch-runs-'));
    dirs.push(repo, runsDir);
    // The estimate of the same script: at the batch rate, half of the standard one.
    const plan = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: `${MODEL}?batch=1`,
      allowNoOracle: true,
    });
    const standardPlan = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: MODEL,
      allowNoOracle: true,
    });
    expect(plan.estimate!.usd!.max).toBeCloseTo(standardPlan.estimate!.usd!.max / 2, 6);
    expect(plan.estimate!.inputTokens).toEqual(standardPlan.estimate!.inputTokens);
    // The plan says so in words, not as the provider's internal model name.
    expect(renderPlan(plan)).toContain(
      `priced as \`${MODEL}\` through the Message Batches API (half price):`,
    );
    expect(renderPlan(standardPlan)).toContain(`priced as \`${MODEL}\`:`);

    // Every 5th request errors, every 7th expires: those are answered by ordinary calls.
    const { provider, server } = await batching(
      { fate: (_id, n) => (n % 5 === 4 ? 'errored' : n % 7 === 6 ? 'expired' : 'succeeded') },
      { windowMs: 100 },
    );
    const events: RunEvent[] = [];
    const summary = (await runWorkflow({
      source: plan.script!,
      file: 'plan.js',
      provider,
      runsDir,
      concurrency: 16,
      env: {},
      isolation: 'off',
      workspace: { repoDir: repo, oracle: { command: 'true', timeoutSeconds: 60 } },
      onEvent: (e) => events.push(e),
      finish: reportAndCommit,
    })) as FinishedRun;
    expect(summary.status).toBe('completed');

    // Every agent answered.
    const finished = events.filter((e) => e.type === 'agent.finished');
    expect(finished.length).toBe(summary.usage.agents);
    expect(finished.length).toBeGreaterThan(8);
    expect(finished.every((e) => e.type === 'agent.finished' && e.status === 'completed')).toBe(true);
    const { fates, created } = server.batches;
    expect(fates.errored).toBeGreaterThan(0);
    expect(fates.expired).toBeGreaterThan(0);
    // Requests of many agents went together: fewer batches than batched requests.
    const submitted = fates.succeeded + fates.errored + fates.expired;
    expect(created.length).toBeLessThan(submitted / 2);
    const retried = events.filter((e) => e.type === 'agent.retry');
    expect(retried).toHaveLength(fates.errored + fates.expired);

    // Priced at the batch rate: the run's dollars are the server's own bill (batched tokens at half).
    const t = server.totals;
    expect(summary.usage.batch?.outputTokens).toBe(t.batch!.output);
    expect(summary.usage.inputTokens).toBe(t.input);
    expect(summary.usage.usd!).toBeCloseTo(serverDollars(t, 2), 5);
    const standard = costUsd(MODEL, {
      inputTokens: t.input,
      outputTokens: t.output,
      cacheReadTokens: t.cacheRead,
      cacheWriteTokens: t.cacheWrite,
      cacheWrite1hTokens: t.cacheWrite1h,
    })!;
    expect(summary.usage.usd!).toBeLessThan(standard * 0.75);

    // The report's saving line.
    const report = readFileSync(summary.reportPath, 'utf8');
    const line = /Batch API: \$([\d.]+) instead of \$([\d.]+) at standard prices \(saved \$([\d.]+)\)\./.exec(
      report,
    );
    expect(line, report).not.toBeNull();
    const [paid, instead, saved] = [Number(line![1]), Number(line![2]), Number(line![3])];
    expect(paid).toBeCloseTo(summary.usage.usd!, 3);
    expect(instead).toBeCloseTo(standard, 3);
    expect(saved).toBeCloseTo(standard - summary.usage.usd!, 3);
    console.log(
      `batched audit: ${finished.length} agents, ${created.length} batches, ${fates.succeeded} batched requests, ` +
        `${fates.errored} errored + ${fates.expired} expired sent again; ${line![0]}`,
    );
  }, 120_000);
});
