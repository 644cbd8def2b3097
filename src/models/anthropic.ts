import Anthropic from '@anthropic-ai/sdk';
import { minCacheTokens } from './cache-rules.js';
import {
  type CacheStrategy,
  CacheWarmer,
  cacheStrategyFromEnv,
  headKey,
  placeBreakpoints,
  TtlChooser,
  type Ttls,
} from './cache-strategy.js';
import { createHttpFetch } from './http-fetch.js';
import {
  abortableSleep,
  type ChatMessage,
  type ContentBlock,
  type JsonSchema,
  type ModelCallObserver,
  ModelError,
  type ModelFailure,
  type ModelProvider,
  type ModelReply,
  type ModelRequest,
  type ToolCall,
  type Usage,
} from './types.js';

/** The short names Claude Code scripts use, e.g. `agent(p, { model: 'haiku' })`. */
const ALIASES: Record<string, string> = {
  opus: 'claude-opus-5-5',
  sonnet: 'claude-sonnet-5-5',
  haiku: 'claude-haiku-5-5',
};

const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

export interface AnthropicOptions {
  model: string;
  apiKey: string;
  baseURL?: string;
  /** How the key is sent: the SDK's `Authorization: Bearer`, or `x-api-key` (DeepSeek's endpoint wants that). */
  auth?: 'bearer' | 'x-api-key';
  /** `native` asks for `output_config.format`; `submit-tool` uses a strict tool, for models or endpoints without it. */
  structured?: 'native' | 'submit-tool';
  /** Retries of one call on 408/409/429/5xx/529 and lost connections. */
  maxRetries?: number;
  /**
   * Retries of a connection error while the endpoint has never answered this provider (4 by
   * default, about 4 to 8 s of waits): an endpoint that cannot be reached at all is said so in
   * seconds, not after the minutes of `maxRetries`. Once anything has answered, `maxRetries`.
   */
  unreachableRetries?: number;
  maxTokens?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Waits between retries; tests may shorten it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Where cache breakpoints go (default: `DWF_PROMPT_CACHE`, else the smart strategy). */
  cache?: CacheStrategy;
  /** The clock the cache TTL is chosen by (`TtlChooser`); tests inject one. */
  now?: () => number;
}

function toApiContent(content: ChatMessage['content']): Anthropic.ContentBlockParam[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((block): Anthropic.ContentBlockParam => {
    if (block.type === 'text') return { type: 'text', text: block.text };
    if (block.type === 'tool_use') {
      return {
        type: 'tool_use',
        id: block.id,
        name: block.name,
        input: block.input as Record<string, unknown>,
      };
    }
    return {
      type: 'tool_result',
      tool_use_id: block.tool_use_id,
      content: block.content,
      ...(block.is_error ? { is_error: true } : {}),
    };
  });
}

/** JSON Schema as the API takes it: no `$schema` key. */
function apiSchema(schema: JsonSchema): JsonSchema {
  const { $schema: _drop, ...rest } = schema;
  return rest;
}

/**
 * The request for one turn. Cache breakpoints as `placeBreakpoints` decides (cache-strategy.ts):
 * the end of the system prompt (tools and system, shared by the siblings of a fan-out) and a tail
 * breakpoint in the conversation (each turn of a tool loop re-reads what the previous one wrote).
 */
export function buildParams(
  request: ModelRequest,
  model: string,
  options: Pick<AnthropicOptions, 'structured' | 'maxTokens' | 'cache'>,
  /** The TTLs a `TtlChooser` decided for this request (the strategy's `auto`); 5 minutes without. */
  chosen?: Ttls,
): Anthropic.MessageCreateParamsNonStreaming {
  const at = placeBreakpoints(
    request.messages,
    options.cache ?? cacheStrategyFromEnv(),
    (request.tools ?? []).length > 0,
    chosen,
  );
  const control = (ttl: '5m' | '1h') =>
    ttl === '1h' ? ({ type: 'ephemeral', ttl: '1h' } as const) : ({ type: 'ephemeral' } as const);
  const messages: Anthropic.MessageParam[] = request.messages.map((m) => ({
    role: m.role,
    content: toApiContent(m.content),
  }));
  const tail = messages[at.tailMessage];
  if (tail && Array.isArray(tail.content) && tail.content.length > 0) {
    const blocks = tail.content;
    blocks[blocks.length - 1] = {
      ...blocks[blocks.length - 1]!,
      cache_control: control(at.ttl.tail),
    } as Anthropic.ContentBlockParam;
  }
  const tools = (request.tools ?? []).map(
    (t): Anthropic.Tool => ({
      name: t.name,
      description: t.description,
      input_schema: apiSchema(t.input_schema) as Anthropic.Tool.InputSchema,
      ...(t.name === 'submit_result' ? { strict: true } : {}),
    }),
  );
  const native = request.schema !== undefined && options.structured !== 'submit-tool';
  const outputConfig: Anthropic.OutputConfig = {
    ...(native ? { format: { type: 'json_schema', schema: apiSchema(request.schema!) } } : {}),
    ...(request.effort ? { effort: request.effort as Anthropic.OutputConfig['effort'] } : {}),
  };
  return {
    model,
    max_tokens: options.maxTokens ?? 16_000,
    system: [
      { type: 'text', text: request.system, ...(at.head ? { cache_control: control(at.ttl.head) } : {}) },
    ],
    messages,
    ...(tools.length > 0 ? { tools, tool_choice: { type: 'auto' } } : {}),
    ...(Object.keys(outputConfig).length > 0 ? { output_config: outputConfig } : {}),
  };
}

function headerValue(headers: unknown, name: string): string | null {
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  return null;
}

/** How long the API asked us to wait, in ms: `retry-after-ms`, then `retry-after` (seconds or a date). */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const ms = Number(headerValue(headers, 'retry-after-ms'));
  if (headerValue(headers, 'retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const after = headerValue(headers, 'retry-after');
  if (after === null) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What kind of failure an error of the SDK is, in a few words, and what to check. */
export function failureOf(error: unknown, baseURL: string | undefined): ModelFailure {
  const status = error instanceof Anthropic.APIError ? error.status : undefined;
  if (status === undefined) {
    const reason = ((error as Error).message || 'Connection error').replace(/\.$/, '');
    return {
      kind: 'unreachable',
      reason,
      explanation:
        `the model API at ${baseURL ?? 'https://api.anthropic.com'} could not be reached (${reason}) — ` +
        'check the network, ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY',
    };
  }
  const reason = `API error ${status}`;
  if (status === 401 || status === 403)
    return {
      kind: 'auth',
      reason,
      explanation: `the model API refused the key (${reason}) — check ANTHROPIC_API_KEY`,
    };
  if (status === 429 || status === 529)
    return { kind: 'overloaded', reason, explanation: `the model API was overloaded (${reason})` };
  if (status >= 500)
    return {
      kind: 'server',
      reason,
      explanation: `the model API kept failing (${reason}) — it may be down; try again later`,
    };
  return { kind: 'refused', reason, explanation: `the model API refused the request (${reason})` };
}

function backoffMs(attempt: number): number {
  const base = Math.min(500 * 2 ** attempt, 30_000);
  return base / 2 + (base / 2) * Math.random();
}

/**
 * Anthropic's Messages API through the official SDK. Retries are ours, not the SDK's, so that each
 * one is counted and told (the observer's `onRetry`) and a storm of 429s and 529s is survived with the
 * waits the API asks for.
 */
export function createAnthropicProvider(options: AnthropicOptions): ModelProvider {
  const client = anthropicClient(options);
  const maxRetries = options.maxRetries ?? 12;
  const warmer = new CacheWarmer();
  const ttls = new TtlChooser(options.now);
  const unreachableRetries = Math.min(options.unreachableRetries ?? 4, maxRetries);
  // Whether the endpoint has ever answered (any HTTP status): until then a lost connection is
  // more likely an endpoint that cannot be reached than a blip.
  let answered = false;
  const sleep = options.sleep ?? abortableSleep;
  const modelFor = (requested: string) => {
    const bare = requested.startsWith('anthropic:') ? requested.slice('anthropic:'.length) : requested;
    return ALIASES[bare] ?? bare;
  };
  return {
    id: `anthropic:${options.model}`,
    defaultModel: options.model,
    modelFor,
    structuredOutput: options.structured ?? 'native',
    async complete(request: ModelRequest, observer?: ModelCallObserver): Promise<ModelReply> {
      const model = modelFor(request.model);
      const params = buildParams(request, model, options, chooseTtls(ttls, request, model));
      // Siblings wait until the first of them has warmed the cache of the head they share.
      const warmed = await warmer.enter(
        headKey(model, request.system, params.tools),
        headCacheable(params, model, options),
      );
      try {
        return await send(params, model, request, observer);
      } finally {
        warmed();
      }
    },
  };

  async function send(
    params: Anthropic.MessageCreateParamsNonStreaming,
    model: string,
    request: ModelRequest,
    observer: ModelCallObserver | undefined,
  ): Promise<ModelReply> {
    for (let retries = 0; ; retries++) {
      try {
        const message = await client.messages.create(params, { signal: request.signal });
        answered = true;
        return toReply(message, model, retries);
      } catch (error) {
        if (request.signal.aborted) throw error;
        const status = error instanceof Anthropic.APIError ? error.status : undefined;
        if (status !== undefined) answered = true;
        const retryable =
          error instanceof Anthropic.APIConnectionError || (status !== undefined && RETRYABLE.has(status));
        const failure = failureOf(error, options.baseURL);
        const limit = failure.kind === 'unreachable' && !answered ? unreachableRetries : maxRetries;
        if (!retryable || retries >= limit) {
          const what = status !== undefined ? `API error ${status}` : 'API request failed';
          const suffix = retryable ? ` after ${retries} retries` : '';
          throw new ModelError(`${what}${suffix}: ${(error as Error).message}`, undefined, failure);
        }
        const headers = error instanceof Anthropic.APIError ? error.headers : undefined;
        const delayMs = Math.round(Math.min(retryAfterMs(headers) ?? backoffMs(retries), 5 * 60 * 1000));
        observer?.onRetry?.({ attempt: retries + 1, of: limit, reason: failure.reason, delayMs });
        await sleep(delayMs, request.signal);
      }
    }
  }
}

/** The TTLs the chooser decides for a request, by its phase and the head it shares. */
export function chooseTtls(chooser: TtlChooser, request: ModelRequest, model: string): Ttls {
  return chooser.choose(
    request.agent.phase,
    headKey(model, request.system, request.tools),
    request.agent.index,
  );
}

/** The SDK's client for the options: no retries of its own (ours are counted), the key sent as asked. */
export function anthropicClient(
  options: Pick<AnthropicOptions, 'auth' | 'apiKey' | 'baseURL' | 'timeoutMs' | 'fetch'>,
): Anthropic {
  const useHeaderKey = options.auth === 'x-api-key';
  return new Anthropic({
    apiKey: useHeaderKey ? null : options.apiKey,
    authToken: null,
    ...(useHeaderKey ? { defaultHeaders: { 'x-api-key': options.apiKey } } : {}),
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: options.timeoutMs ?? 10 * 60 * 1000,
    // One client per provider (so per run), its requests over node:http (see createHttpFetch).
    fetch: options.fetch ?? createHttpFetch(),
  });
}

/** Whether the head (tools and system) carries a breakpoint and reaches the cache minimum (about 4 characters a token). */
function headCacheable(
  params: Anthropic.MessageCreateParamsNonStreaming,
  model: string,
  options: Pick<AnthropicOptions, 'cache'>,
): boolean {
  if (!(options.cache ?? cacheStrategyFromEnv()).enabled) return false;
  return JSON.stringify([params.tools ?? [], params.system]).length / 4 >= minCacheTokens(model);
}

export function toReply(message: Anthropic.Message, model: string, retries: number): ModelReply {
  const content: ContentBlock[] = [];
  const toolCalls: ToolCall[] = [];
  const texts: string[] = [];
  for (const block of message.content) {
    if (block.type === 'text') {
      texts.push(block.text);
      content.push({ type: 'text', text: block.text });
    } else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, name: block.name, input: block.input });
      content.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
    }
  }
  return { text: texts.join('\n'), toolCalls, content, usage: usageOf(message.usage), model, retries };
}

/** The usage of a reply as the API reports it, with the part written for an hour. */
export function usageOf(u: Anthropic.Usage): Usage {
  const write1h = u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    ...(write1h > 0 ? { cacheWrite1hTokens: write1h } : {}),
  };
}
