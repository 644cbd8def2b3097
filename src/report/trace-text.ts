import type { TranscriptLine } from '../engine/transcript.js';
import { billedTokens } from '../models/types.js';
import { formatTokens, formatUsd, plural } from './format.js';
import type { Finding } from './report.js';
import type { PhaseSummary, TraceAgent } from './trace-data.js';

/**
 * `dwf show` in a terminal: a run's phases and agents, its findings with the agents that worked on
 * each, and one agent's transcript. Pure: data in, text out.
 */

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * The finding-thread heuristic (docs/transcripts.md): a label is a verb and a subject
 * (`verify src/auth.js:10`); agents with the same subject work on one finding, and the agent whose
 * subject is that subject without its `:line` (`find src/auth.js`) found it.
 */
export function subjectOf(label: string | undefined): string | undefined {
  return label === undefined ? undefined : /^\S+\s+(.+)$/.exec(label.trim())?.[1];
}

export function rootOf(subject: string): string {
  return subject.replace(/:\d+(?:-\d+)?$/, '');
}

/** The agents of one finding, in index order: its finder, then those whose subject is `file:line`. */
export function findingAgents(agents: readonly TraceAgent[], finding: Finding): TraceAgent[] {
  if (finding.file === undefined) return [];
  const subject = finding.line !== undefined ? `${finding.file}:${finding.line}` : finding.file;
  return agents.filter((a) => {
    const s = subjectOf(a.label);
    return s === subject || s === finding.file;
  });
}

function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function agentName(a: Pick<TraceAgent, 'index' | 'label'>): string {
  return `#${a.index} ${a.label ?? '(no label)'}`;
}

/** One line per agent: name, outcome, turns, tokens, dollars, time, and the start of its answer. */
export function agentLine(a: TraceAgent, answer: string | undefined): string {
  const ran = a.started !== undefined && a.finished !== undefined ? formatMs(a.finished - a.started) : '-';
  const facts = [
    a.status,
    plural(a.turns, 'turn'),
    `${formatTokens(billedTokens(a.usage))} tokens`,
    formatUsd(a.usd),
    ran,
  ].join(' · ');
  const tail = a.error ? ` — ${cut(a.error, 100)}` : answer ? ` → ${cut(answer, 100)}` : '';
  return `  ${agentName(a)}  ${facts}${tail}`;
}

export interface RunText {
  header: string;
  phases: PhaseSummary[];
  agents: TraceAgent[];
  /** An agent's answer (or its start), for the lines above. */
  answer(index: number): unknown;
  findings: Finding[];
}

export function renderRunText(input: RunText): string {
  const out = [input.header, ''];
  for (const p of input.phases) {
    const outcomes = Object.entries(p.statuses)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    out.push(
      `${p.name} · ${plural(p.agents, 'agent')}${outcomes ? ` (${outcomes})` : ''}` +
        `${p.oracles ? ` · ${plural(p.oracles, 'oracle run')}` : ''} · ${formatTokens(p.tokens)} tokens · ${formatUsd(p.usd)}`,
    );
    for (const a of input.agents.filter((x) => x.phase === p.name)) {
      const answer = input.answer(a.index);
      out.push(agentLine(a, answer === undefined ? undefined : JSON.stringify(answer)));
    }
    out.push('');
  }
  if (input.findings.length > 0) {
    out.push(`Findings (${input.findings.length})`);
    for (const f of input.findings) {
      const where = f.file !== undefined ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}` : '';
      out.push(`  ${f.status ?? '?'}  ${where}  ${f.title}${f.severity ? ` (${f.severity})` : ''}`);
      if (f.evidence) out.push(`    why: ${f.evidence}`);
      const agents = findingAgents(input.agents, f);
      if (agents.length > 0)
        out.push(`    agents: ${agents.map((a) => `${agentName(a)} (${a.status})`).join(', ')}`);
    }
    out.push('');
  }
  out.push('dwf show RUN AGENT prints an agent’s transcript (AGENT: its number or its label)');
  return `${out.join('\n')}\n`;
}

function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

function limitLines(text: string, max: number): string {
  const lines = text.split('\n');
  if (lines.length <= max) return text;
  return `${lines.slice(0, max).join('\n')}\n[… ${lines.length - max} more lines: --full prints them]`;
}

const pretty = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** One agent's transcript, readably: tool outputs cut to `maxLines` lines unless `full`. */
export function renderTranscriptText(
  lines: readonly TranscriptLine[],
  options: { full?: boolean } = {},
): string {
  const max = options.full ? Number.POSITIVE_INFINITY : 30;
  const outputs = new Map<string, Extract<TranscriptLine, { type: 'tool' }>>();
  for (const l of lines) if (l.type === 'tool') outputs.set(l.id, l);
  const out: string[] = [];
  for (const l of lines) {
    switch (l.type) {
      case 'start':
        out.push(`── prompt${l.tools ? ` (tools: ${l.tools.join(', ')})` : ''}`, indent(l.prompt), '');
        break;
      case 'turn': {
        const u = l.usage;
        out.push(
          `── turn ${l.turn} · ${l.model} · ${formatMs(l.ms)} · in ${u.inputTokens}, out ${u.outputTokens}, ` +
            `cache read ${u.cacheReadTokens}, cache write ${u.cacheWriteTokens} · ${formatUsd(l.usd)}` +
            (l.retries ? ` · ${plural(l.retries, 'retry', 'retries')}` : ''),
        );
        if (l.text) out.push(indent(l.text));
        for (const call of l.toolCalls) {
          out.push(`  → ${call.name} ${JSON.stringify(call.input)}`);
          const result = outputs.get(call.id);
          if (result) {
            out.push(`  ← ${result.isError ? 'error' : 'output'} (${formatMs(result.ms)})`);
            out.push(indent(limitLines(result.output, max), '    │ '));
          }
        }
        out.push('');
        break;
      }
      case 'note':
        out.push(`── dwf told the model`, indent(l.text), '');
        break;
      case 'model-error':
        out.push(`── the model call failed after ${formatMs(l.ms)}`, indent(l.error), '');
        break;
      case 'end':
        out.push(
          `── ${l.status === 'completed' ? 'answer' : `ended: ${l.status}`} · ${plural(l.turns, 'turn')} · ` +
            `${formatTokens(billedTokens(l.usage))} tokens · ${formatUsd(l.usd)} · ${formatMs(l.ms)}`,
          indent(l.status === 'completed' ? pretty(l.result) : (l.error ?? '')),
          '',
        );
        break;
      case 'replayed':
        out.push(`── replayed from run ${l.from} at no cost; its transcript: ${l.transcript}`, '');
        break;
    }
  }
  return `${out.join('\n')}\n`;
}
