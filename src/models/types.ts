/** Tokens one model call (or a whole agent, or a run) was billed for. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /**
   * Of `cacheWriteTokens`, those written with the 1-hour TTL (billed at 2× the input price, where a
   * 5-minute write is billed at 1.25×). Absent: none.
   */
  cacheWrite1hTokens?: number;
  /**
   * Of all the tokens above, those billed through the Message Batches API (at half price). Absent:
   * none. A subset, so that every reader of the four counts sees every token billed.
   */
  batch?: BatchUsage;
}

/** The part of a usage billed at the batch rate. */
export type BatchUsage = Omit<Usage, 'batch'>;

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

function addCounts(a: BatchUsage, b: BatchUsage): BatchUsage {
  const sum: BatchUsage = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
  // The optional parts appear only when there is something in them (usage stays the four counts
  // otherwise). Assigned, not spread: this runs for every model call, and a spread costs a copy.
  if (a.cacheWrite1hTokens !== undefined || b.cacheWrite1hTokens !== undefined) {
    sum.cacheWrite1hTokens = (a.cacheWrite1hTokens ?? 0) + (b.cacheWrite1hTokens ?? 0);
  }
  return sum;
}

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = addCounts(a, b);
  if (a.batch || b.batch) sum.batch = addCounts(a.batch ?? ZERO_USAGE, b.batch ?? ZERO_USAGE);
  return sum;
}

/** Every token the API bills, which is what a token budget counts. */
export function billedTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
}

export type JsonSchema = Record<string, unknown>;

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: JsonSchema;
}

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

/** The text of a message, whatever its shape. */
export function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((b) => (b.type === 'text' ? b.text : b.type === 'tool_result' ? b.content : JSON.stringify(b.input)))
    .join('\n');
}

/** Who is asking: lets fixtures match and providers attribute usage. */
export interface AgentIdentity {
  index: number;
  label?: string;
  phase?: string;
  attempt: number;
}

/**
 * A retry the provider is about to make: which one of how many, why (a few words), and how long
 * until it is sent.
 */
export interface RetryNotice {
  attempt: number;
  of: number;
  reason: string;
  delayMs: number;
}

export interface ModelRequest {
  /** The model to use, as the script or the run named it (provider-specific). */
  model: string;
  system: string;
  messages: ChatMessage[];
  /** Tools the model may call; their results come back in the next user message. */
  tools?: ToolDefinition[];
  /** When set, the final answer must be a JSON object valid against this schema. */
  schema?: JsonSchema;
  effort?: string;
  agent: AgentIdentity;
  signal: AbortSignal;
}

/**
 * Who watches one model call (beside the request, which stays plain data): told of each retry as
 * it is scheduled, before the wait. Providers that never retry never call it.
 */
export interface ModelCallObserver {
  onRetry?(notice: RetryNotice): void;
}

export interface ModelReply {
  text: string;
  /** A structured answer, when the provider produced one directly. */
  output?: unknown;
  /** Tools the model asked to run before it answers. */
  toolCalls: ToolCall[];
  /** The reply as content blocks, to send back in the conversation. */
  content: ContentBlock[];
  usage: Usage;
  /** The model that answered, for accounting and pricing. */
  model: string;
  /** How many times the call was retried (rate limits, overload) before it succeeded. */
  retries?: number;
}

export interface ModelProvider {
  /** How the run names this provider, e.g. `sim`, `fixture:demo.json`. */
  readonly id: string;
  /** The model agents get unless the script names another. */
  readonly defaultModel: string;
  /** The model that will answer a request for `requested` (aliases resolved), for pricing up front. */
  modelFor(requested: string): string;
  /**
   * How a schema-bound answer is asked for: `native` providers honour `schema` themselves;
   * `submit-tool` ones get a strict `submit_result` tool from the agent loop instead.
   */
  readonly structuredOutput: 'native' | 'submit-tool';
  complete(request: ModelRequest, observer?: ModelCallObserver): Promise<ModelReply>;
  /**
   * The same model through the Message Batches API (half the price, answers within hours), for
   * unattended runs; absent when the provider has none.
   */
  withBatches?(recording?: BatchRecording): ModelProvider;
}

/** A batch submitted to the Message Batches API: its id and the custom ids of its requests. */
export interface SubmittedBatch {
  id: string;
  customIds: string[];
}

/** Where a batching provider records its batches, and those an earlier job recorded (to resume). */
export interface BatchRecording {
  /** Told of each batch as it is submitted. */
  onSubmitted?: (batch: SubmittedBatch) => void;
  /** Batches an earlier job submitted: a request whose custom id is in one takes its result from there. */
  resume?: SubmittedBatch[];
}

/**
 * How a model call failed for good, which the engine decides from (never from the text):
 * `unreachable` (no connection), `auth` (the key was refused: 401, 403), `server` (5xx),
 * `overloaded` (429, 529 past the retries), `refused` (any other answer: the request itself).
 */
export type ModelFailureKind = 'unreachable' | 'auth' | 'server' | 'overloaded' | 'refused';

/** Kinds that say the model cannot be used at all when they come before any answer. */
export const UNUSABLE_MODEL: ReadonlySet<ModelFailureKind> = new Set(['unreachable', 'auth', 'server']);

export interface ModelFailure {
  kind: ModelFailureKind;
  /** A few words, the same for every call that failed the same way: `Connection error`, `API error 500`. */
  reason: string;
  /** What happened and what to check, as a sentence for the run's error. */
  explanation: string;
}

/** A model call that failed for good: the agent resolves to `null` and the run goes on. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly usage: Usage = ZERO_USAGE,
    /** The kind and the short reason, when the provider knows them. */
    readonly failure?: ModelFailure,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Roughly four characters per token: good enough for estimates and offline models. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function requestText(request: Pick<ModelRequest, 'system' | 'messages' | 'tools'>): string {
  return (
    request.system +
    (request.tools ? JSON.stringify(request.tools) : '') +
    request.messages.map(messageText).join('\n')
  );
}

/** A reply that is only text. */
export function textReply(text: string, usage: Usage, model: string, output?: unknown): ModelReply {
  return output !== undefined
    ? { text, output, toolCalls: [], content: [{ type: 'text', text }], usage, model }
    : { text, toolCalls: [], content: [{ type: 'text', text }], usage, model };
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
