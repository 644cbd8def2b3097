import prices from './prices.json' with { type: 'json' };
import type { BatchUsage, Usage } from './types.js';

interface Price {
  input: number;
  /** A 5-minute cache write. */
  cacheWrite: number;
  /** A 1-hour cache write. */
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

interface PriceTable {
  date: string;
  source: string;
  /** The share of every price a request sent through the Message Batches API is billed. */
  batchPriceShare: number;
  models: Record<string, Price>;
}

const table: PriceTable = prices;

export const PRICE_TABLE_DATE = table.date;
export const BATCH_PRICE_SHARE = table.batchPriceShare;

/**
 * The bare model of a name: `anthropic:claude-opus-5-5`, `claude-opus-5-5` and
 * `claude-opus-5-5?batch=1` alike are `claude-opus-5-5`.
 */
export function bareModel(model: string): string {
  const name = model.split('?')[0]!;
  return name.slice(name.lastIndexOf(':') + 1);
}

/** Whether a model name asks for the Message Batches API (`MODEL?batch=1`). */
export function isBatchModel(model: string): boolean {
  const query = model.split('?')[1];
  return query !== undefined && new URLSearchParams(query).get('batch') === '1';
}

/** Prices already looked up, by the name as given: every model call asks, most for one or two names. */
const looked = new Map<string, Price | undefined>();
const LOOKED_MAX = 256;

/** The price of a model, matched by its bare name (the table's own entries only). */
export function priceOf(model: string): Price | undefined {
  if (looked.has(model)) return looked.get(model);
  const bare = bareModel(model);
  const price = Object.hasOwn(table.models, bare) ? table.models[bare] : undefined;
  if (looked.size < LOOKED_MAX) looked.set(model, price);
  return price;
}

function standard(price: Price, u: BatchUsage): number {
  const write1h = Math.min(u.cacheWrite1hTokens ?? 0, u.cacheWriteTokens);
  return (
    u.inputTokens * price.input +
    (u.cacheWriteTokens - write1h) * price.cacheWrite +
    write1h * price.cacheWrite1h +
    u.cacheReadTokens * price.cacheRead +
    u.outputTokens * price.output
  );
}

/**
 * Dollars for the usage, or `null` when the model's price is unknown: never a made-up zero. 1-hour
 * cache writes at their own price; the part billed through the Message Batches API (`usage.batch`)
 * at the batch share.
 */
export function costUsd(model: string, usage: Usage): number | null {
  const price = priceOf(model);
  if (!price) return null;
  return (standard(price, usage) - batchSaving(price, usage)) / 1_000_000;
}

/** What the batched part of a usage would have cost at standard prices, less what it cost: its saving. */
export function batchSavingUsd(model: string, usage: Usage): number | null {
  const price = priceOf(model);
  if (!price) return null;
  return batchSaving(price, usage) / 1_000_000;
}

/** The batch discount on a usage, in millionths of a dollar (none when nothing went through a batch). */
function batchSaving(price: Price, usage: Usage): number {
  return usage.batch ? standard(price, usage.batch) * (1 - table.batchPriceShare) : 0;
}
