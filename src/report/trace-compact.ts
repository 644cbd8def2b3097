import type { TranscriptLine } from '../engine/transcript.js';

/**
 * The page embeds every agent's transcript, each cut to its share of a fixed total, so a run of
 * 1000 agents stays a page of a few hundred KB; the full transcript stays in the run directory.
 */
export const PAGE_TRANSCRIPT_TOTAL = 600_000;
export const PAGE_TRANSCRIPT_MIN = 600;
export const PAGE_TRANSCRIPT_MAX = 40_000;

export function pageBudgetPerAgent(agents: number): number {
  const share = Math.floor(PAGE_TRANSCRIPT_TOTAL / Math.max(1, agents));
  return Math.min(PAGE_TRANSCRIPT_MAX, Math.max(PAGE_TRANSCRIPT_MIN, share));
}

function cutString(text: string, cap: number): string {
  if (text.length <= cap) return text;
  return `${text.slice(0, cap)}\n[… ${text.length - cap} more characters: the page keeps ${cap}; the run directory's transcript has the rest]`;
}

/** A copy with every string cut to `cap` characters, and values whose JSON is longer made cut JSON text. */
function cutValue(value: unknown, cap: number): unknown {
  if (typeof value === 'string') return cutString(value, cap);
  if (value === null || typeof value !== 'object') return value;
  const json = JSON.stringify(value);
  if (json.length > cap) return cutString(json, cap);
  return value;
}

/**
 * One agent's transcript for the page: its schema left out, every text cut to a third of the
 * agent's budget, and, when the lines still exceed it, the middle lines dropped (the start and the
 * end are always kept) with one line saying how many.
 */
export function compactTranscript(lines: readonly TranscriptLine[], budget: number): unknown[] {
  const cap = Math.max(200, Math.floor(budget / 3));
  const compact = lines.map((line) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(line)) {
      if (key === 'schema' || key === 'cut') continue;
      out[key] =
        key === 'toolCalls' && Array.isArray(value)
          ? value.map((c: { id: string; name: string; input: unknown }) => ({
              id: c.id,
              name: c.name,
              input: cutValue(c.input, cap),
            }))
          : key === 'usage'
            ? value
            : cutValue(value, cap);
    }
    if (line.cut) out.cut = line.cut;
    return out;
  });
  const size = (l: unknown) => JSON.stringify(l).length;
  let total = compact.reduce((n, l) => n + size(l), 0);
  if (total <= budget) return compact;
  const keep = new Set<number>();
  compact.forEach((l, i) => {
    if (l.type === 'start' || l.type === 'end' || l.type === 'replayed') keep.add(i);
  });
  total = [...keep].reduce((n, i) => n + size(compact[i]), 0);
  for (let i = 0; i < compact.length; i++) {
    if (keep.has(i)) continue;
    const s = size(compact[i]);
    if (total + s > budget) break;
    keep.add(i);
    total += s;
  }
  const out: unknown[] = [];
  let omitted = 0;
  compact.forEach((l, i) => {
    if (keep.has(i)) {
      if (omitted > 0) out.push({ type: 'omitted', lines: omitted });
      omitted = 0;
      out.push(l);
    } else omitted++;
  });
  if (omitted > 0) out.push({ type: 'omitted', lines: omitted });
  return out;
}
