import type { TranscriptLine } from '../engine/transcript.js';
import type { Usage } from '../models/types.js';

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

/** Fields the page does not show for a line, or shows from the agent's row instead. */
const DROPPED: Record<string, string[]> = {
  start: ['index', 'label', 'phase', 'model', 'schema'],
  end: ['usage', 'attempts'],
};

/** A line for the page: what it shows, no empty or zero fields, a turn's usage as [in, out, cache read, cache write]. */
function pageLine(
  line: TranscriptLine,
  cap: number,
  answerText: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const dropped = DROPPED[line.type] ?? [];
  for (const [key, value] of Object.entries(line)) {
    if (dropped.includes(key) || key === 'cut') continue;
    if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (key === 'retries' && value === 0) continue;
    if (key === 'usage') {
      const u = value as Usage;
      out.u = [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWriteTokens];
    } else if (key === 'toolCalls') {
      out.toolCalls = (value as Array<{ id: string; name: string; input: unknown }>).map((c) => ({
        id: c.id,
        name: c.name,
        input: cutValue(c.input, cap),
      }));
    } else if (key === 'text' && line.type === 'turn' && value === answerText) {
      // The final turn's text is the answer, shown once, under the answer.
    } else out[key] = cutValue(value, cap);
  }
  if (line.cut) out.cut = line.cut;
  return out;
}

/**
 * One agent's transcript for the page: the fields it shows, every text cut to a third of the
 * agent's budget, and, when the lines still exceed it, the middle lines dropped (the start and the
 * end are always kept) with one line saying how many.
 */
export function compactTranscript(lines: readonly TranscriptLine[], budget: number): unknown[] {
  const cap = Math.max(200, Math.floor(budget / 3));
  const end = lines.find((l) => l.type === 'end');
  const answerText =
    end?.type === 'end' && end.status === 'completed'
      ? typeof end.result === 'string'
        ? end.result
        : JSON.stringify(end.result)
      : undefined;
  const compact = lines.map((line) => pageLine(line, cap, answerText));
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
