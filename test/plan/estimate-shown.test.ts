import { expect, test } from 'vitest';
import { estimateOf, renderPlanComment } from '../../src/github/plan-comment.js';
import { estimateVsActual } from '../../src/report/estimate-vs-actual.js';
import { planAudit, repoOf } from '../cost/harness.js';
import { realisticItsdangerous } from '../cost/realistic.js';

test('the plan comment shows the estimate per phase, what would cost more, and the budget it derives', async () => {
  const plan = await planAudit(repoOf(realisticItsdangerous()));
  const body = renderPlanComment(plan, { planId: 'plan-1', baseSha: 'a'.repeat(40), requester: 'octocat' });
  expect(body).toContain('| phase | agents | tokens | dollars |');
  for (const phase of ['Find', 'Verify', 'Fix', 'Re-verify', 'Report'])
    expect(body).toMatch(
      new RegExp(`\\| ${phase} \\| \\d+(–\\d+)? \\| [\\d.]+k?(–[\\d.]+[kM]?)? \\| \\$[\\d.]+`),
    );
  expect(body).toContain('What would make it cost more: a bigger scope (each more file adds about $');
  expect(body).toContain('more rounds (Verify, Fix, Re-verify run again each round)');
  const budget = plan.estimate!.budget!;
  expect(budget).toMatchObject({ source: 'estimate', margin: 1.5 });
  expect(budget.usd).toBeCloseTo(plan.estimate!.usd!.max * 1.5, 1);
  expect(body).toContain(
    `Budget: $${budget.usd!.toFixed(2)}, the estimate's maximum × 1.5 (no budget is configured)`,
  );
  // The run an approval starts reads them back from the comment: the phases for its report, the budget.
  const back = estimateOf(body);
  expect(back.phases.map((p) => [p.phase, p.agents])).toEqual(
    plan.estimate!.phases!.map((p) => [p.phase, p.agents]),
  );
  expect(back.budget).toEqual(budget);
}, 120_000);

test('the report puts each phase estimate beside its actual, and says which went over', () => {
  const u = (agents: number, input: number, usd: number) => ({
    agents,
    inputTokens: input,
    outputTokens: 100,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    usd,
  });
  const lines = estimateVsActual(
    [
      {
        phase: 'Find',
        agents: { min: 8, max: 8 },
        tokens: { min: 50_000, max: 60_000 },
        usd: { min: 0.06, max: 0.09 },
      },
      {
        phase: 'Fix',
        agents: { min: 0, max: 32 },
        tokens: { min: 0, max: 500_000 },
        usd: { min: 0, max: 0.6 },
      },
    ],
    { Find: u(8, 170_000, 0.2), Fix: u(8, 230_000, 0.19) },
  );
  expect(lines).toContain('## Estimate vs actual');
  expect(lines).toContain('| Find | 8 | 8 | 50.0k–60.0k | 170.1k | $0.0600–$0.0900 | $0.2000 |');
  expect(lines).toContain('| Fix | 0–32 | 8 | 0–500.0k | 230.1k | $0.0000–$0.6000 | $0.1900 |');
  expect(lines.at(-1)).toBe('1 phase cost more than the busy end of the estimate.');
});
