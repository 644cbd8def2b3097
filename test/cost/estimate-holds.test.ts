import { describe, expect, test } from 'vitest';
import { fmtTokens, planAudit, repoOf, runAgainstServer, within } from './harness.js';
import { SHAPES } from './realistic.js';

/**
 * Issue 11's acceptance: on three repository shapes of different languages, the planned estimate
 * range holds the actual input tokens, output tokens and dollars of the same script run against a
 * local Messages API that behaves like a diligent model (server.ts: independent of the estimator,
 * counting the whole request, caching by the API's rules). On the 45-file one, prompt caching pays:
 * most input is read from the cache and the run costs at most 0.6× of the same run without caching.
 */
describe('the estimate holds the actual cost', () => {
  for (const shape of SHAPES) {
    test(shape.name, async () => {
      const repo = repoOf(shape.files());
      const plan = await planAudit(repo);
      const e = plan.estimate!;
      expect(e.problems).toEqual([]);
      const actual = await runAgainstServer(repo, plan.script!);
      expect(actual.status).toBe('completed');
      const line = [
        shape.name,
        `agents ${e.agents.min}–${e.agents.max} / ${actual.agents}`,
        `input ${fmtTokens(e.inputTokens.min)}–${fmtTokens(e.inputTokens.max)} / ${fmtTokens(actual.inputTokens)}`,
        `output ${fmtTokens(e.outputTokens.min)}–${fmtTokens(e.outputTokens.max)} / ${fmtTokens(actual.totals.output)}`,
        `$${e.usd!.min.toFixed(3)}–$${e.usd!.max.toFixed(3)} / $${actual.usd.toFixed(3)}`,
        `cache read ${((100 * actual.totals.cacheRead) / actual.inputTokens).toFixed(0)}%`,
      ].join(' · ');
      console.log(line);
      expect(within(actual.inputTokens, e.inputTokens), line).toBe(true);
      expect(within(actual.totals.output, e.outputTokens), line).toBe(true);
      expect(within(actual.usd, e.usd!), line).toBe(true);
      expect(within(actual.agents, e.agents), line).toBe(true);
      // Every phase the run entered was estimated.
      for (const phase of actual.phases.keys()) expect(e.phases!.map((p) => p.phase)).toContain(phase);
      if (shape.name.startsWith('pflag')) {
        const off = await runAgainstServer(repo, plan.script!, { enabled: false, tail: 'smart', ttl: '5m' });
        const share = actual.totals.cacheRead / actual.inputTokens;
        console.log(
          `pflag: cache-read share ${(share * 100).toFixed(1)}%, $${actual.usd.toFixed(3)} vs $${off.usd.toFixed(3)} without caching (${(actual.usd / off.usd).toFixed(2)}×)`,
        );
        expect(share).toBeGreaterThanOrEqual(0.6);
        expect(actual.usd / off.usd).toBeLessThanOrEqual(0.6);
      }
    }, 300_000);
  }
});
