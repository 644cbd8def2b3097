import { describe, expect, test } from 'vitest';
import type { UsageTotals } from '../../src/engine/usage.js';
import { costUsd } from '../../src/models/pricing.js';
import { batchSavingLines } from '../../src/report/batch-saving.js';

const M = 1_000_000;
const counts = { inputTokens: M, outputTokens: M / 10, cacheReadTokens: 0, cacheWriteTokens: 0 };

function totals(model: string, batched: boolean): UsageTotals {
  const usage = { ...counts, ...(batched ? { batch: counts } : {}) };
  return { agents: 1, ...usage, usd: costUsd(model, usage) };
}

describe('the Batch API saving line (batch-saving.ts)', () => {
  test('what the batched part cost against standard prices', () => {
    // Sonnet: $2 input + $1 output = $3 at standard prices, $1.50 batched; Opus unbatched: $6.
    const sonnet = totals('claude-sonnet-5-5?batch=1', true);
    const opus = totals('claude-opus-5-5', false);
    const usd = sonnet.usd! + opus.usd!;
    expect(
      batchSavingLines({
        totals: { ...sonnet, usd },
        byModel: { 'claude-sonnet-5-5?batch=1': sonnet, 'claude-opus-5-5': opus },
      }),
    ).toEqual(['Batch API: $7.50 instead of $9.00 at standard prices (saved $1.50).']);
  });

  test('nothing when no request went through a batch, or the cost is unknown', () => {
    const plain = totals('claude-sonnet-5-5', false);
    expect(batchSavingLines({ totals: plain, byModel: { 'claude-sonnet-5-5': plain } })).toEqual([]);
    const unknown = { ...totals('mystery-model', true), usd: null };
    expect(batchSavingLines({ totals: unknown, byModel: { 'mystery-model': unknown } })).toEqual([]);
  });
});
