import type { RunEvent } from '../engine/events.js';
import type { TranscriptLine } from '../engine/transcript.js';
import { billedTokens, type Usage, ZERO_USAGE } from '../models/types.js';
import { compactTranscript, pageBudgetPerAgent } from './trace-compact.js';

/** What the trace page, `dwf show` and the run's diagram call an agent's state. */
export type TraceStatus = 'queued' | 'running' | 'done' | 'failed' | 'stopped' | 'invalid' | 'replayed';

export const NO_PHASE = '(no phase)';

/** One agent, from the events: times in ms since the run started. */
export interface TraceAgent {
  index: number;
  label?: string;
  phase: string;
  model?: string;
  status: TraceStatus;
  queued?: number;
  started?: number;
  finished?: number;
  usage: Usage;
  usd: number | null;
  turns: number;
  /** Commands it ran. */
  commands: number;
  error?: string;
}

export interface PhaseSummary {
  name: string;
  /** When its first agent was queued (or the phase began), and when its last agent finished. */
  start: number;
  end: number;
  agents: number;
  statuses: Partial<Record<TraceStatus, number>>;
  tokens: number;
  usd: number | null;
  oracles: number;
}

export interface OracleRun {
  t: number;
  phase: string;
  passed: boolean;
  exitCode: number;
  summary: string;
  durationMs: number;
}

/** Folds a run's events into its agents (by index), its phases (in order) and its oracle runs. */
export function agentsOf(events: Iterable<RunEvent>): {
  agents: TraceAgent[];
  phases: string[];
  oracles: OracleRun[];
  logs: Array<{ t: number; message: string }>;
  meta: { concurrency?: number; maxAgents?: number; resumedFrom?: string; end: number };
} {
  const byIndex = new Map<number, TraceAgent>();
  const phases: string[] = [];
  const seen = new Set<string>();
  const addPhase = (name: string) => {
    if (!seen.has(name)) {
      seen.add(name);
      phases.push(name);
    }
  };
  const oracles: OracleRun[] = [];
  const logs: Array<{ t: number; message: string }> = [];
  const meta: ReturnType<typeof agentsOf>['meta'] = { end: 0 };
  let current = NO_PHASE;
  const agent = (index: number, phase: string | undefined, label: string | undefined, t: number) => {
    let a = byIndex.get(index);
    if (!a) {
      a = {
        index,
        phase: phase ?? current,
        status: 'queued',
        usage: ZERO_USAGE,
        usd: null,
        turns: 0,
        commands: 0,
      };
      addPhase(a.phase);
      byIndex.set(index, a);
      a.queued = t;
    }
    if (label !== undefined) a.label = label;
    return a;
  };
  for (const e of events) {
    meta.end = Math.max(meta.end, e.t);
    switch (e.type) {
      case 'run.started':
        meta.concurrency = e.concurrency;
        meta.maxAgents = e.maxAgents;
        if (e.resumedFrom !== undefined) meta.resumedFrom = e.resumedFrom;
        break;
      case 'phase':
        current = e.phase;
        addPhase(e.phase);
        break;
      case 'log':
        if (logs.length < 500) logs.push({ t: e.t, message: e.message.slice(0, 500) });
        break;
      case 'agent.queued':
        agent(e.index, e.phase, e.label, e.t);
        break;
      case 'agent.started': {
        const a = agent(e.index, e.phase, e.label, e.t);
        a.started = e.t;
        a.model = e.model;
        a.status = 'running';
        break;
      }
      case 'agent.turn':
        agent(e.index, undefined, undefined, e.t).turns++;
        break;
      case 'command':
        if (e.index !== undefined) agent(e.index, undefined, undefined, e.t).commands++;
        break;
      case 'agent.finished': {
        const a = agent(e.index, e.phase, e.label, e.t);
        a.finished = e.t;
        a.usage = e.usage;
        a.usd = e.usd;
        a.status = e.replayed ? 'replayed' : e.status === 'completed' ? 'done' : e.status;
        if (e.error !== undefined) a.error = e.error.slice(0, 400);
        break;
      }
      case 'oracle':
        addPhase(current);
        oracles.push({
          t: e.t,
          phase: current,
          passed: e.passed,
          exitCode: e.exitCode,
          summary: e.summary.slice(0, 400),
          durationMs: e.durationMs,
        });
        break;
    }
  }
  const agents = [...byIndex.values()].sort((a, b) => a.index - b.index);
  return { agents, phases, oracles, logs, meta };
}

/** Each phase's agents, outcomes, tokens, dollars and span, in the order the phases began. */
export function phaseSummaries(
  input: Pick<ReturnType<typeof agentsOf>, 'agents' | 'phases' | 'oracles'>,
): PhaseSummary[] {
  const byName = new Map<string, PhaseSummary>();
  for (const name of input.phases) {
    byName.set(name, {
      name,
      start: Number.POSITIVE_INFINITY,
      end: 0,
      agents: 0,
      statuses: {},
      tokens: 0,
      usd: null,
      oracles: 0,
    });
  }
  for (const a of input.agents) {
    const p = byName.get(a.phase)!;
    p.agents++;
    p.statuses[a.status] = (p.statuses[a.status] ?? 0) + 1;
    p.tokens += billedTokens(a.usage);
    if (a.usd !== null) p.usd = (p.usd ?? 0) + a.usd;
    p.start = Math.min(p.start, a.queued ?? a.finished ?? 0);
    p.end = Math.max(p.end, a.finished ?? a.started ?? a.queued ?? 0);
  }
  for (const o of input.oracles) {
    const p = byName.get(o.phase)!;
    p.oracles++;
    p.start = Math.min(p.start, Math.max(0, o.t - o.durationMs));
    p.end = Math.max(p.end, o.t);
  }
  return [...byName.values()]
    .filter((p) => p.agents > 0 || p.oracles > 0)
    .map((p) => ({ ...p, start: Number.isFinite(p.start) ? p.start : p.end }));
}

/** What the page says of the run as a whole. */
export interface TraceRun {
  runId: string;
  name: string;
  status: string;
  error?: string;
  startedAt?: string;
  durationMs: number;
  model?: string;
}

export interface TraceInput {
  run: TraceRun;
  events: Iterable<RunEvent>;
  /** An agent's transcript as written, if it has one. */
  transcript(index: number): TranscriptLine[] | undefined;
}

/** Everything the page embeds: compact, since a run may hold 1000 agents. */
export interface TraceData {
  run: TraceRun & { concurrency?: number; maxAgents?: number; resumedFrom?: string };
  phases: PhaseSummary[];
  /** One row per agent: [index, label, phase #, status, model #, queued, started, finished, input, output, cache read, cache write, usd, turns, commands, error]. */
  agents: unknown[][];
  models: string[];
  phaseNames: string[];
  oracles: OracleRun[];
  logs: Array<{ t: number; message: string }>;
  /** Per agent index, its transcript cut to the page's share (see trace-compact.ts). */
  transcripts: Record<number, unknown[]>;
  /** Characters of transcript the page keeps per agent. */
  transcriptBudget: number;
}

export function traceData(input: TraceInput): TraceData {
  const folded = agentsOf(input.events);
  const models: string[] = [];
  const modelIndex = (m: string | undefined) => {
    if (m === undefined) return -1;
    const i = models.indexOf(m);
    return i >= 0 ? i : models.push(m) - 1;
  };
  const budget = pageBudgetPerAgent(folded.agents.length);
  const transcripts: Record<number, unknown[]> = {};
  for (const a of folded.agents) {
    const lines = input.transcript(a.index);
    if (lines) transcripts[a.index] = compactTranscript(lines, budget);
    if (a.model === undefined) {
      const start = lines?.find((l) => l.type === 'start');
      if (start?.type === 'start') a.model = start.model;
    }
  }
  const agents = folded.agents.map((a) => [
    a.index,
    a.label ?? null,
    folded.phases.indexOf(a.phase),
    a.status,
    modelIndex(a.model),
    a.queued ?? null,
    a.started ?? null,
    a.finished ?? null,
    a.usage.inputTokens,
    a.usage.outputTokens,
    a.usage.cacheReadTokens,
    a.usage.cacheWriteTokens,
    a.usd === null ? null : Math.round(a.usd * 1e6) / 1e6,
    a.turns,
    a.commands,
    a.error ?? null,
  ]);
  const { meta } = folded;
  return {
    run: {
      ...input.run,
      durationMs: Math.max(input.run.durationMs, meta.end),
      ...(meta.concurrency !== undefined ? { concurrency: meta.concurrency } : {}),
      ...(meta.maxAgents !== undefined ? { maxAgents: meta.maxAgents } : {}),
      ...(meta.resumedFrom !== undefined ? { resumedFrom: meta.resumedFrom } : {}),
    },
    phases: phaseSummaries(folded),
    agents,
    models,
    phaseNames: folded.phases,
    oracles: folded.oracles,
    logs: folded.logs,
    transcripts,
    transcriptBudget: budget,
  };
}
