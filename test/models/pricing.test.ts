import { describe, expect, test } from 'vitest';
import { usageOf } from '../../src/models/anthropic.js';
import { bareModel, batchSavingUsd, costUsd, isBatchModel, priceOf } from '../../src/models/pricing.js';
import { addUsage, type Usage, ZERO_USAGE } from '../../src/models/types.js';

const SONNET = 'claude-sonnet-5-5';
const M = 1_000_000;

describe('prices (pricing.ts)', () => {
  test('a 1-hour cache write is billed at twice the input price, a 5-minute one at 1.25×', () => {
    const fiveMinutes: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: M };
    expect(costUsd(SONNET, fiveMinutes)).toBeCloseTo(2.5, 9);
    expect(costUsd(SONNET, { ...fiveMinutes, cacheWrite1hTokens: M })).toBeCloseTo(4, 9);
    expect(costUsd(SONNET, { ...fiveMinutes, cacheWriteTokens: 2 * M, cacheWrite1hTokens: M })).toBeCloseTo(
      6.5,
      9,
    );
    for (const model of ['claude-opus-5-5', SONNET, 'claude-haiku-5-5', 'claude-haiku-4-5']) {
      const p = priceOf(model)!;
      expect(p.cacheWrite1h).toBeCloseTo(2 * p.input, 9);
      expect(p.cacheWrite).toBeCloseTo(1.25 * p.input, 9);
    }
  });

  test('a model named like a property every object has gets no price, and a name asked twice prices alike', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'anthropic:constructor']) {
      expect(priceOf(name)).toBeUndefined();
      expect(
        costUsd(name, { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 }),
      ).toBeNull();
    }
    expect(priceOf(`anthropic:${SONNET}`)).toBe(priceOf(SONNET));
    expect(priceOf(`anthropic:${SONNET}`)).toBe(priceOf(`${SONNET}?batch=1`));
    expect(priceOf(SONNET)?.input).toBeGreaterThan(0);
  });

  test('the part billed through the Batches API costs half, and its saving is the other half', () => {
    const u: Usage = { inputTokens: M, outputTokens: M, cacheReadTokens: M, cacheWriteTokens: M };
    const standard = costUsd(SONNET, u)!;
    expect(standard).toBeCloseTo(2 + 10 + 0.2 + 2.5, 9);
    expect(costUsd(SONNET, { ...u, batch: u })).toBeCloseTo(standard / 2, 9);
    expect(batchSavingUsd(SONNET, { ...u, batch: u })).toBeCloseTo(standard / 2, 9);
    expect(batchSavingUsd(SONNET, u)).toBe(0);
    expect(batchSavingUsd('unknown-model', u)).toBeNull();
  });

  test('a model name may carry ?batch=1: priced as its bare model', () => {
    expect(bareModel('anthropic:claude-opus-5-5?batch=1')).toBe('claude-opus-5-5');
    expect(isBatchModel('claude-opus-5-5?batch=1')).toBe(true);
    expect(isBatchModel('claude-opus-5-5')).toBe(false);
    expect(priceOf('claude-opus-5-5?batch=1')).toEqual(priceOf('claude-opus-5-5'));
  });

  test('usage adds its optional parts only when there are some', () => {
    const plain: Usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 4 };
    expect(addUsage(plain, ZERO_USAGE)).toStrictEqual(plain);
    const batched = { ...plain, cacheWrite1hTokens: 4, batch: { ...plain, cacheWrite1hTokens: 4 } };
    expect(addUsage(plain, batched)).toStrictEqual({
      inputTokens: 2,
      outputTokens: 4,
      cacheReadTokens: 6,
      cacheWriteTokens: 8,
      cacheWrite1hTokens: 4,
      batch: { ...plain, cacheWrite1hTokens: 4 },
    });
  });

  test("the API's usage: 1-hour writes read from cache_creation", () => {
    const u = usageOf({
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 7,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
    } as Parameters<typeof usageOf>[0]);
    expect(u).toStrictEqual({
      inputTokens: 10,
      outputTokens: 5,
      cacheWriteTokens: 300,
      cacheReadTokens: 7,
      cacheWrite1hTokens: 200,
    });
  });
});
