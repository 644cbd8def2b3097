import { hash } from 'node:crypto';
import { PromptCacheEstimator } from './prompt-cache.js';
import {
  abortableSleep,
  estimateTokens,
  type JsonSchema,
  type ModelProvider,
  type ModelReply,
  type ModelRequest,
  messageText,
  requestText,
  textReply,
} from './types.js';

export interface SimOptions {
  /** Milliseconds each call takes. */
  latencyMs: number;
  seed: number;
  /** How many items a generated array holds (within the schema's minItems/maxItems). */
  items: number;
  /** Price the simulated tokens as this model (e.g. for a dry-run estimate in dollars). */
  as?: string;
  world: SimWorld;
}

/** A deterministic pseudo-random stream, seeded per call so replies never depend on timing. */
function streamFor(seed: number, key: string): () => number {
  const digest = hash('sha256', `${seed}\0${key}`, 'buffer');
  let state = digest.readUInt32LE(0) || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

function pick<T>(list: readonly T[], next: () => number): T {
  return list[Math.floor(next() * list.length)]!;
}

export type SimWorld = 'random' | 'quiet' | 'busy';

/**
 * Boolean answers that say "this is done": true in the quiet world (nothing left to do), false in
 * the busy one (work goes on to the last round). Other flags ("confirmed", "real") are the reverse.
 */
const SAYS_DONE = /fix|pass|resolv|done|complet|kept|success|correct|ok$/i;

interface Placeholders {
  next: () => number;
  items: number;
  world: SimWorld;
}

/**
 * A value valid against common JSON Schema keywords; unusual keywords are left to validation.
 * Worlds bound a dry run: `quiet` finds nothing and everything is done at once (empty lists),
 * `busy` finds something everywhere and nothing ever gets done; `random` is in between.
 */
export function placeholderFor(schema: JsonSchema, how: Placeholders, path = 'value'): unknown {
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(schema.enum, how.next);
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants) && variants.length > 0) return placeholderFor(variants[0]!, how, path);
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(properties)) out[key] = placeholderFor(sub, how, key);
      return out;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Number.POSITIVE_INFINITY;
      const wanted = how.world === 'quiet' ? 0 : how.world === 'busy' ? Math.max(how.items, 1) : how.items;
      const count = Math.min(Math.max(wanted, min), max);
      const itemSchema = (schema.items ?? {}) as JsonSchema;
      return Array.from({ length: count }, (_, i) => placeholderFor(itemSchema, how, `${path}-${i + 1}`));
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
      const max = typeof schema.maximum === 'number' ? schema.maximum : min + 10;
      const value = min + how.next() * (max - min);
      return type === 'integer' ? (Math.ceil(value) > max ? Math.floor(value) : Math.ceil(value)) : value;
    }
    case 'boolean':
      if (how.world === 'quiet') return SAYS_DONE.test(path);
      if (how.world === 'busy') return !SAYS_DONE.test(path);
      return how.next() < 0.5;
    case 'null':
      return null;
    case 'string': {
      let text = `sim ${path} ${Math.floor(how.next() * 1e6)}`;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
      if (text.length < min) text = text.padEnd(min, '.');
      return text.slice(0, max);
    }
    default:
      return `sim ${path}`;
  }
}

export function parseSimOptions(query: string): SimOptions {
  const params = new URLSearchParams(query);
  const known = new Set(['latency', 'seed', 'items', 'as', 'world']);
  for (const key of params.keys()) {
    if (!known.has(key))
      throw new Error(`unknown sim option "${key}" (known: latency, seed, items, as, world)`);
  }
  const world = params.get('world') ?? 'random';
  if (world !== 'random' && world !== 'quiet' && world !== 'busy') {
    throw new Error(`sim option world must be random, quiet or busy, got "${world}"`);
  }
  const number = (key: string, fallback: number): number => {
    const raw = params.get(key);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`sim option ${key} must be a number >= 0, got "${raw}"`);
    return value;
  };
  const as = params.get('as');
  return {
    latencyMs: number('latency', 0),
    seed: number('seed', 0),
    items: Math.floor(number('items', 1)),
    ...(as ? { as } : {}),
    world,
  };
}

/**
 * The simulator: schema-valid placeholder answers derived from the schema, the seed and the
 * request, with token counts estimated from sizes. For dry runs, benchmarks and demos.
 */
export function createSimProvider(options: SimOptions): ModelProvider {
  const cache = new PromptCacheEstimator();
  return {
    id: 'sim',
    defaultModel: options.as ?? 'sim',
    // Every agent is simulated by the same model, whatever the script asked for.
    modelFor: () => options.as ?? 'sim',
    structuredOutput: 'native',
    async complete(request: ModelRequest): Promise<ModelReply> {
      const input = cache.estimate(request);
      await abortableSleep(options.latencyMs, request.signal);
      cache.commit(input.writes);
      const prompt = requestText(request);
      const next = streamFor(options.seed, `${request.agent.label ?? ''}\0${prompt}`);
      const model = options.as ?? 'sim';
      const usage = (text: string) => ({ ...input.usage, outputTokens: estimateTokens(text) });
      if (request.schema) {
        const output = placeholderFor(request.schema, { next, items: options.items, world: options.world });
        const text = JSON.stringify(output);
        return textReply(text, usage(text), model, output);
      }
      const task = request.messages[0] ? messageText(request.messages[0]) : '';
      const text = `sim reply ${Math.floor(next() * 1e9).toString(36)} to: ${task.slice(0, 60)}`;
      return textReply(text, usage(text), model);
    },
  };
}
