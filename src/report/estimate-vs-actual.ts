import type { UsageTotals } from '../engine/usage.js';
import { billedTokens } from '../models/types.js';
import type { PhaseEstimate } from '../plan/estimate.js';
import { cell, formatTokens, formatUsd, span } from './format.js';

/** The plan's per-phase estimate beside what each phase cost: where the money went, and whether the plan held. */

const usd = (n: number) => formatUsd(n);

export function estimateVsActual(estimate: PhaseEstimate[], byPhase: Record<string, UsageTotals>): string[] {
  if (estimate.length === 0) return [];
  const names = [
    ...estimate.map((p) => p.phase),
    ...Object.keys(byPhase).filter((n) => !estimate.some((p) => p.phase === n)),
  ];
  const lines = [
    '',
    '## Estimate vs actual',
    '',
    'The plan estimated each phase from a quiet world (nothing found) to a busy one; this run:',
    '',
    '| phase | agents est. | agents | tokens est. | tokens | dollars est. | dollars |',
    '|---|---|---|---|---|---|---|',
  ];
  let over = 0;
  for (const name of names) {
    const e = estimate.find((p) => p.phase === name);
    const a = byPhase[name];
    const spent = a?.usd ?? null;
    if (e?.usd && spent !== null && spent > e.usd.max) over++;
    lines.push(
      `| ${cell(name)} | ${e ? span(e.agents.min, e.agents.max, String) : 'not estimated'} | ${a?.agents ?? 0} | ${e ? span(e.tokens.min, e.tokens.max, formatTokens) : '–'} | ${formatTokens(a ? billedTokens(a) : 0)} | ${e?.usd ? span(e.usd.min, e.usd.max, usd) : '–'} | ${spent === null ? '–' : usd(spent)} |`,
    );
  }
  if (over > 0)
    lines.push('', `${over} phase${over === 1 ? '' : 's'} cost more than the busy end of the estimate.`);
  return lines;
}
