import prices from './prices.json' with { type: 'json' };
import type { Usage } from './types.js';

interface Price {
  input: number;
  cacheWrite: number;
  cacheRead: number;
  output: number;
}

interface PriceTable {
  date: string;
  source: string;
  models: Record<string, Price>;
}

const table: PriceTable = prices;

export const PRICE_TABLE_DATE = table.date;

/** The price of a model, matched by its bare name (`anthropic:claude-opus-5-5` and `claude-opus-5-5` alike). */
export function priceOf(model: string): Price | undefined {
  const bare = model.slice(model.lastIndexOf(':') + 1);
  return table.models[bare];
}

/** Dollars for the usage, or `null` when the model's price is unknown: never a made-up zero. */
export function costUsd(model: string, usage: Usage): number | null {
  const price = priceOf(model);
  if (!price) return null;
  return (
    (usage.inputTokens * price.input +
      usage.cacheWriteTokens * price.cacheWrite +
      usage.cacheReadTokens * price.cacheRead +
      usage.outputTokens * price.output) /
    1_000_000
  );
}
