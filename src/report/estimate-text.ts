import type { Estimate, PhaseEstimate } from '../plan/estimate.js';
import { formatTokens, formatUsd, span } from './format.js';

/** The estimate's parts as a plan shows them: per phase, what makes it cost more, the budget. */

const usd = (n: number) => formatUsd(n);

/** A markdown table: one row a phase, agents, tokens and dollars from the quiet to the busy world. */
export function phaseTable(phases: PhaseEstimate[]): string[] {
  if (phases.length === 0) return [];
  return [
    '| phase | agents | tokens | dollars |',
    '|---|---|---|---|',
    ...phases.map(
      (p) =>
        `| ${p.phase} | ${span(p.agents.min, p.agents.max, String)} | ${span(p.tokens.min, p.tokens.max, formatTokens)} | ${p.usd ? span(p.usd.min, p.usd.max, usd) : 'unknown'} |`,
    ),
  ];
}

/**
 * What would make the run cost more than this estimate, in plain words: more files in scope (the
 * per-file phases scale with them), more rounds (the loop's phases run once a round), more
 * findings per file than the busy world assumes.
 */
export function costDrivers(e: Estimate, scopeFiles: number, busyFindingsPerFile: number): string {
  const phases = e.phases ?? [];
  const perFile = phases.find(
    (p) => p.agents.min === scopeFiles && p.agents.max === scopeFiles && scopeFiles > 0,
  );
  const looped = phases.filter((p) => p.agents.min === 0 && p.agents.max > 0);
  const parts: string[] = [];
  if (perFile?.usd && scopeFiles > 0)
    parts.push(
      `a bigger scope (each more file adds about ${usd(perFile.usd.max / scopeFiles)} in ${perFile.phase} alone, and its findings their own agents)`,
    );
  else parts.push('a bigger scope (more files, more agents)');
  if (looped.length > 0)
    parts.push(`more rounds (${looped.map((p) => p.phase).join(', ')} run again each round)`);
  parts.push(`more than ${busyFindingsPerFile} findings a file (the busy world's count)`);
  parts.push('large files read in many pages');
  return `What would make it cost more: ${parts.join('; ')}.`;
}

/** The budget line: the configured one, or the one the run gets from this estimate. */
export function budgetLine(e: Estimate): string | undefined {
  const b = e.budget;
  if (!b) return undefined;
  const amount = [
    b.usd !== null ? `$${b.usd.toFixed(2)}` : '',
    b.tokens !== null ? `${formatTokens(b.tokens)} tokens` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  if (b.source === 'configured')
    return `Budget: ${amount} (configured); the run stops starting agents when it is spent.`;
  const of = b.shards !== undefined ? ` for one shard, times ${b.shards} shards` : '';
  return `Budget: ${amount}, the estimate's maximum × ${b.margin}${of} (no budget is configured); the run stops starting agents when it is spent.`;
}
