import { hash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type Anthropic from '@anthropic-ai/sdk';
import {
  type AnthropicOptions,
  anthropicClient,
  buildParams,
  chooseTtls,
  createAnthropicProvider,
  toReply,
} from './anthropic.js';
import { TtlChooser } from './cache-strategy.js';
import {
  abortableSleep,
  type BatchRecording,
  type ModelCallObserver,
  type ModelProvider,
  type ModelReply,
  type ModelRequest,
  type SubmittedBatch,
} from './types.js';

export type { SubmittedBatch } from './types.js';

/**
 * Requests through the Message Batches API, at half the price of the Messages API: the requests of
 * many agents that arrive within a short window are submitted together as one batch, the batch is
 * polled with back-off until it has ended, and its results (JSONL) are matched back to the
 * requests by their custom ids. A request that errored, expired or was canceled is sent again as an
 * ordinary call (the agent does not notice, beside a retry in the event log). A batch given up on
 * is canceled first, so that it is not billed beside those calls.
 */

export interface BatchOptions extends BatchRecording {
  /** How long the first request of a batch waits for others to join it (ms; default 2000). */
  windowMs?: number;
  /** A batch is submitted at once when this many requests wait (default 1000). */
  maxRequests?: number;
  /** A batch is submitted at once when its requests reach this many bytes of JSON (default 128 MB; the API takes 256 MB). */
  maxBytes?: number;
  /** The wait before the second poll (ms; default 15 s), doubled after each poll up to `maxPollMs`. */
  pollMs?: number;
  /** The longest wait between two polls (ms; default 5 minutes). */
  maxPollMs?: number;
  /**
   * Consecutive failed polls before the batch is given up on (default 5): it is canceled, polled
   * at most this many times more until it has ended, and what it answered is used; the rest of its
   * requests are sent as ordinary calls.
   */
  pollFailures?: number;
  /** Waits between polls, cut short by `signal` (every waiting request aborted); tests pass one that does not wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

type Result = Anthropic.Messages.MessageBatchResult;

interface Waiter {
  customId: string;
  params: Anthropic.MessageCreateParamsNonStreaming;
  signal: AbortSignal;
  /** The size of the request's JSON. */
  bytes: number;
  resolve(result: Result): void;
}

/** A result that is not an answer, as a few words for the event log. */
function reasonOf(result: Result & { note?: string }): string {
  if (result.note) return `${result.note}; sent as an ordinary call`;
  const what = result.type === 'errored' ? `errored (${result.error.error.type})` : result.type;
  return `batch request ${what}, sent as an ordinary call`;
}

/** A stand-in result for a request whose batch could not be submitted or read (`note`: why, for the event log). */
function failed(error: unknown, note?: string): Result {
  return {
    type: 'errored',
    error: { type: 'error', error: { type: 'api_error', message: (error as Error).message } },
    ...(note ? { note } : {}),
  } as Result;
}

/** Whether an error of the Batches API says it will not take batches here (no retry helps). */
function refusesBatches(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The requests waiting on one batch: its polling stops once every one of them has been aborted. */
class Watchers {
  private readonly signals = new Set<AbortSignal>();
  readonly stop = new AbortController();

  add(signal: AbortSignal): void {
    this.signals.add(signal);
    signal.addEventListener('abort', () => this.check(), { once: true });
    this.check();
  }

  private check(): void {
    if ([...this.signals].every((s) => s.aborted))
      this.stop.abort(new Error('no request waits for the batch'));
  }
}

/** Collects requests into batches and hands each its result. */
export class BatchQueue {
  private waiting: Waiter[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly recorded = new Map<string, string>();
  private readonly results = new Map<string, Promise<Map<string, Result>>>();
  private readonly watchers = new Map<string, Watchers>();
  /** Set when the endpoint refused a batch (a 4xx): every later request is an ordinary call. */
  private refused: Error | undefined;

  constructor(
    private readonly client: Anthropic,
    private readonly options: BatchOptions = {},
  ) {
    for (const batch of options.resume ?? [])
      for (const id of batch.customIds) this.recorded.set(id, batch.id);
  }

  /** The result of one request, from a recorded batch when an earlier job submitted it, else from a new one. */
  async request(
    customId: string,
    params: Anthropic.MessageCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<Result> {
    const recorded = this.recorded.get(customId);
    if (recorded !== undefined) {
      this.recorded.delete(customId);
      const found = await this.resultsOf(recorded, [signal]).then(
        (results) => results.get(customId),
        () => undefined,
      );
      if (found) return found;
    }
    if (signal.aborted) throw signal.reason;
    if (this.refused) return failed(this.refused);
    return new Promise<Result>((resolve, reject) => {
      const waiter: Waiter = { customId, params, signal, resolve, bytes: JSON.stringify(params).length };
      const onAbort = () => {
        if (this.waiting.includes(waiter)) this.bytes -= waiter.bytes;
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      this.waiting.push(waiter);
      this.bytes += waiter.bytes;
      if (
        this.waiting.length >= (this.options.maxRequests ?? 1000) ||
        this.bytes >= (this.options.maxBytes ?? 128 * 2 ** 20)
      )
        this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs ?? 2000);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.waiting.splice(0);
    this.bytes = 0;
    if (group.length > 0) void this.submit(group);
  }

  private async submit(group: Waiter[]): Promise<void> {
    let results: Map<string, Result>;
    try {
      const batch = await this.client.messages.batches.create({
        requests: group.map((w) => ({ custom_id: w.customId, params: w.params })),
      });
      this.options.onSubmitted?.({ id: batch.id, customIds: group.map((w) => w.customId) });
      results = await this.resultsOf(
        batch.id,
        group.map((w) => w.signal),
      );
    } catch (error) {
      if (refusesBatches(error instanceof GivenUp ? error.cause : error)) this.refused = error as Error;
      for (const w of group) w.resolve(failed(error, error instanceof GivenUp ? error.message : undefined));
      return;
    }
    // A request the results leave out is treated as expired: sent again as an ordinary call.
    for (const w of group) w.resolve(results.get(w.customId) ?? { type: 'expired' });
  }

  /** Polls a batch with back-off until it has ended, then reads its results (once per batch). */
  private resultsOf(id: string, signals: AbortSignal[]): Promise<Map<string, Result>> {
    let watchers = this.watchers.get(id);
    if (!watchers) {
      watchers = new Watchers();
      this.watchers.set(id, watchers);
    }
    for (const signal of signals) watchers.add(signal);
    let pending = this.results.get(id);
    if (!pending) {
      pending = this.poll(id, watchers.stop.signal);
      this.results.set(id, pending);
    }
    return pending;
  }

  /**
   * The results of a batch once it has ended. A batch given up on (its polls or its results failed
   * `pollFailures` times in a row) is canceled before any of its requests is sent again, so that it
   * is not processed and billed beside the ordinary calls; then the results of what it answered
   * before the cancel are read if they can be (used, and counted, instead of paying again).
   */
  private async poll(id: string, stop: AbortSignal): Promise<Map<string, Result>> {
    try {
      return await this.whenEnded(id, stop, Number.POSITIVE_INFINITY);
    } catch (error) {
      if (stop.aborted) throw error;
      const cancelError = await this.client.messages.batches.cancel(id).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      // A canceled batch ends once its in-flight requests have finished; one whose cancel failed
      // (e.g. refused because the batch has ended meanwhile) is polled once more.
      const polls = cancelError ? 1 : (this.options.pollFailures ?? 5);
      const results = await this.whenEnded(id, stop, polls).catch((e: unknown) => {
        if (stop.aborted) throw e;
        return undefined;
      });
      if (results) return results;
      throw new GivenUp(id, error as Error, cancelError);
    }
  }

  /** Polls a batch with back-off until it has ended (at most `maxPolls` times), then reads its results. */
  private async whenEnded(id: string, stop: AbortSignal, maxPolls: number): Promise<Map<string, Result>> {
    const sleep = this.options.sleep ?? abortableSleep;
    let wait = this.options.pollMs ?? 15_000;
    let failures = 0;
    for (let polls = 1; ; polls++) {
      try {
        const batch = await this.client.messages.batches.retrieve(id, {}, { signal: stop });
        if (batch.processing_status === 'ended') {
          const results = new Map<string, Result>();
          for await (const line of await this.client.messages.batches.results(id, {}, { signal: stop }))
            results.set(line.custom_id, line.result);
          return results;
        }
        failures = 0;
      } catch (error) {
        if (stop.aborted || ++failures >= (this.options.pollFailures ?? 5) || polls >= maxPolls) throw error;
      }
      if (polls >= maxPolls) throw new Error(`batch ${id} has not ended after ${polls} polls`);
      // Every request that waited on the batch was aborted (the run stopped): polling stops.
      await sleep(wait, stop);
      wait = Math.min(wait * 2, this.options.maxPollMs ?? 5 * 60_000);
    }
  }
}

/** A batch given up on, canceled (or its cancel failed) and its results unreadable: says so for the event log. */
class GivenUp extends Error {
  constructor(id: string, error: Error, cancelError: Error | undefined) {
    const after = cancelError
      ? `its cancel failed (${cancelError.message}): it may go on being processed and billed`
      : 'canceled, its results unreadable: what it answered before the cancel is billed but not counted';
    super(`batch ${id} given up on (${error.message}), ${after}`, { cause: error });
  }
}

/**
 * The custom id of a request: the agent, its attempt and a digest of the request without its
 * cache breakpoints (their TTLs depend on timing), so that a resumed run asks the same thing under
 * the same id. Letters, digits, `_` and `-`, at most 64 characters, as the API wants.
 */
export function customIdOf(request: ModelRequest, params: Anthropic.MessageCreateParamsNonStreaming): string {
  const json = JSON.stringify(params, (key, value) => (key === 'cache_control' ? undefined : value));
  return `a${request.agent.index}_${request.agent.attempt}_${hash('sha256', json, 'hex').slice(0, 32)}`;
}

/**
 * A record of the batches submitted, one JSON line each in `path` (in the runs directory, which the
 * workflow keeps as an artifact): a job that outlived its time is resumed by the next one, which
 * takes the results of the batches it had in flight instead of submitting (and paying) again.
 */
export function batchLog(path: string): BatchRecording {
  const resume: SubmittedBatch[] = [];
  if (existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      try {
        const batch = JSON.parse(line) as SubmittedBatch;
        if (typeof batch.id === 'string' && Array.isArray(batch.customIds)) resume.push(batch);
      } catch {
        // A line cut short by the end of the job: that batch is lost, its requests are sent again.
      }
    }
  }
  return { resume, onSubmitted: (batch) => appendFileSync(path, `${JSON.stringify(batch)}\n`) };
}

/** The model a request names, without the `?batch=1` a batching provider adds to it. */
function plainModel(model: string): string {
  return model.split('?')[0]!;
}

/**
 * The Anthropic provider through the Message Batches API. Its models are named `MODEL?batch=1`, so
 * that the plan's estimate and the budget price them at the batch rate (pricing.ts); a batched
 * reply's usage carries `batch` (all of it), an ordinary one (a request sent again) does not.
 * Siblings are not held back to warm the cache (`CacheWarmer`): they go in the same batch.
 */
export function createBatchingProvider(options: AnthropicOptions & { batch?: BatchOptions }): ModelProvider {
  const ordinary = createAnthropicProvider(options);
  const queue = new BatchQueue(anthropicClient(options), options.batch);
  const ttls = new TtlChooser(options.now);
  const marked = (model: string) => `${ordinary.modelFor(plainModel(model))}?batch=1`;
  return {
    id: `${ordinary.id}?batch=1`,
    defaultModel: marked(options.model),
    modelFor: marked,
    structuredOutput: ordinary.structuredOutput,
    async complete(request: ModelRequest, observer?: ModelCallObserver): Promise<ModelReply> {
      const plain = { ...request, model: plainModel(request.model) };
      const model = ordinary.modelFor(plain.model);
      const params = buildParams(plain, model, options, chooseTtls(ttls, plain, model));
      const result = await queue.request(customIdOf(plain, params), params, request.signal);
      if (result.type === 'succeeded') {
        const reply = toReply(result.message, model, 0);
        return { ...reply, usage: { ...reply.usage, batch: { ...reply.usage } } };
      }
      observer?.onRetry?.({ attempt: 1, of: 1, reason: reasonOf(result), delayMs: 0 });
      return ordinary.complete(plain, observer);
    },
  };
}
