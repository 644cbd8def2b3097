import { describe, expect, test } from 'vitest';
import { comparePolicies } from './ttl-phase.js';

const SIX_MINUTES = 6 * 60_000;
const TWENTY_SECONDS = 20_000;

describe('the cache TTL chosen per phase, checked by the cost model (server.ts)', () => {
  test('a long fan-out (siblings 6 minutes apart): the rule turns to the 1-hour TTL and costs less than 5 minutes', async () => {
    const { rule, fiveMinutes, oneHour } = await comparePolicies('siblings', SIX_MINUTES);
    // The first sibling cannot know; the gap before the second says the phase outlives 5 minutes.
    expect(rule.headTtls).toEqual(['5m', '1h', '1h', '1h', '1h', '1h']);
    // 5 minutes: every sibling writes the head again (1.25×); the rule writes it once for an hour
    // (2×) and the others read it (0.1×).
    expect(fiveMinutes.totals.cacheRead).toBe(0);
    expect(rule.totals.cacheRead).toBeGreaterThan(0);
    expect(rule.totals.cacheWrite1h).toBeGreaterThan(0);
    expect(rule.serverUsd).toBeLessThan(fiveMinutes.serverUsd);
    // Always an hour would have been cheaper still by the first sibling's write: the rule cannot
    // see the gap before it happens, so it pays that write once.
    expect(oneHour.serverUsd).toBeLessThan(rule.serverUsd);
    // Our prices (pricing.ts: 1-hour writes at 2× input) agree with the server's own arithmetic.
    for (const run of [rule, fiveMinutes, oneHour]) expect(run.pricedUsd).toBeCloseTo(run.serverUsd, 9);
  });

  test('a short fan-out (siblings 20 seconds apart): the rule keeps 5 minutes, cheaper than an hour', async () => {
    const { rule, fiveMinutes, oneHour } = await comparePolicies('siblings', TWENTY_SECONDS);
    expect(rule.headTtls).toEqual(['5m', '5m', '5m', '5m', '5m', '5m']);
    expect(rule.serverUsd).toBeCloseTo(fiveMinutes.serverUsd, 9);
    expect(rule.serverUsd).toBeLessThan(oneHour.serverUsd);
    for (const run of [rule, fiveMinutes, oneHour]) expect(run.pricedUsd).toBeCloseTo(run.serverUsd, 9);
  });

  test("an agent whose tools run 6 minutes a turn: its conversation and the head go to an hour (the API's order kept)", async () => {
    const long = await comparePolicies('turns', SIX_MINUTES);
    expect(long.rule.headTtls).toEqual(['5m', '1h', '1h', '1h']);
    expect(long.rule.serverUsd).toBeLessThan(long.fiveMinutes.serverUsd);
    const short = await comparePolicies('turns', TWENTY_SECONDS);
    expect(short.rule.headTtls).toEqual(['5m', '5m', '5m', '5m']);
    expect(short.rule.serverUsd).toBeCloseTo(short.fiveMinutes.serverUsd, 9);
    expect(short.rule.serverUsd).toBeLessThan(short.oneHour.serverUsd);
    for (const run of [long.rule, long.fiveMinutes, long.oneHour, short.rule])
      expect(run.pricedUsd).toBeCloseTo(run.serverUsd, 9);
  });
});
