import type { Usage } from '../models/types.js';

export type AgentStatus = 'completed' | 'failed' | 'stopped' | 'invalid';
export type RunStatus = 'completed' | 'failed' | 'stopped';

interface Base {
  /** Milliseconds since the run started. */
  t: number;
}

export type RunEvent = Base &
  (
    | {
        type: 'run.started';
        runId: string;
        name: string;
        resumedFrom?: string;
        concurrency: number;
        maxAgents: number;
        /** The run's ceiling, when it has one. */
        budget?: { tokens: number | null; usd: number | null };
      }
    | { type: 'phase'; phase: string }
    | { type: 'log'; message: string; phase?: string }
    | { type: 'agent.queued'; index: number; label?: string; phase?: string; model?: string }
    | { type: 'agent.refused'; index: number; reason: string }
    | { type: 'agent.started'; index: number; label?: string; phase?: string; model: string }
    | {
        type: 'agent.finished';
        index: number;
        label?: string;
        phase?: string;
        status: AgentStatus;
        usage: Usage;
        usd: number | null;
        replayed?: true;
        attempts?: number;
        error?: string;
        /** Why it failed in a few words, the same for agents that failed the same way (failed and invalid agents). */
        reason?: string;
      }
    | {
        /** A model call of the agent failed and is retried after `delayMs`: retry `attempt` of `of`. */
        type: 'agent.retry';
        index: number;
        label?: string;
        attempt: number;
        of: number;
        reason: string;
        delayMs: number;
      }
    | {
        type: 'agent.turn';
        index: number;
        turn: number;
        model: string;
        usage: Usage;
        retries: number;
        tools: string[];
      }
    | {
        type: 'command';
        index?: number;
        command: string;
        exitCode: number;
        durationMs: number;
        source: 'agent' | 'oracle';
      }
    | { type: 'oracle'; passed: boolean; exitCode: number; summary: string; durationMs: number }
    | { type: 'changes.merged'; index: number; files: string[] }
    | { type: 'changes.conflict'; index: number; error: string }
    | { type: 'item.failed'; where: string; error: string; phase?: string }
    | { type: 'workflow.started'; name: string; phase?: string }
    | { type: 'workflow.finished'; name: string; ok: boolean; error?: string }
    | { type: 'budget.exhausted'; reason: string }
    | { type: 'run.finished'; status: RunStatus; error?: string; branch?: string }
  );

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RunEventInput = DistributiveOmit<RunEvent, 't'>;

/** How much the script may write to a run's event log through `log()`, `phase()` and failed items. */
export const MAX_SCRIPT_OUTPUT_BYTES = 8 * 1024 * 1024;
/** What one such line costs besides its text (the event around it), so empty lines count too. */
const LINE_COST = 64;
/** Phases the report lists; a script that names more gets a count. */
const MAX_PHASES = 100;
/** Distinct reasons of failed agents the digest keeps; agents failing for others are counted apart. */
export const MAX_FAILURE_REASONS = 20;

type OracleEvent = Extract<RunEvent, { type: 'oracle' }>;

/** What the report needs from a run's events: small, whatever the length of the run. */
export interface RunDigest {
  /** Distinct phases in the order they began (the first MAX_PHASES). */
  phases: string[];
  /** Distinct phases beyond those. */
  morePhases: number;
  /** The first and the last test run (the oracle), and how many there were. */
  oracles: { first?: OracleEvent; last?: OracleEvent; count: number };
  /** Lines the script wrote past MAX_SCRIPT_OUTPUT_BYTES, dropped from the event log. */
  dropped: { lines: number; characters: number };
  /** Agents by how they ended; `completed` counts the replayed ones too. */
  agents: { completed: number; failed: number; stopped: number; replayed: number };
  /** Model answers in this run (agent turns): none means the model was never reached. */
  modelAnswers: number;
  /** Model calls retried (each `agent.retry`). */
  retries: number;
  /**
   * Why agents failed (the `failed` and `invalid` ones): each distinct reason with its count, most
   * frequent first, the first MAX_FAILURE_REASONS reasons; agents failing for any other are `otherFailures`.
   */
  failures: Array<{ reason: string; count: number }>;
  otherFailures: number;
}

/** A failed agent's reason in a few words: its given reason, else the first line of its error, cut short. */
export function failureReason(event: { reason?: string; error?: string }): string {
  if (event.reason) return event.reason;
  const line = (event.error ?? 'no error recorded').split('\n')[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** The failed agents' reasons with their counts (those past the digest's cap under one key). */
export function failureCounts(digest: Pick<RunDigest, 'failures' | 'otherFailures'>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of digest.failures) counts[f.reason] = f.count;
  if (digest.otherFailures > 0) counts['other reasons'] = digest.otherFailures;
  return counts;
}

/** `Connection error ×3, API error 500` : the reasons with their counts, for one line of text. */
export function describeFailures(digest: Pick<RunDigest, 'failures' | 'otherFailures'>): string {
  const parts = digest.failures.map((f) => (f.count > 1 ? `${f.reason} ×${f.count}` : f.reason));
  if (digest.otherFailures > 0) parts.push(`${digest.otherFailures} for other reasons`);
  return parts.join(', ');
}

const SCRIPT_OUTPUT = new Set<RunEvent['type']>(['log', 'phase', 'item.failed']);

function outputSize(input: RunEventInput): number {
  switch (input.type) {
    case 'log':
      return LINE_COST + input.message.length;
    case 'phase':
      return LINE_COST + input.phase.length;
    case 'item.failed':
      return LINE_COST + input.where.length + input.error.length;
    default:
      return 0;
  }
}

/**
 * Keeps the digest of a run's events as they pass, and the cap on what the script writes: the
 * events themselves go to events.jsonl, so memory does not grow with the run.
 */
export class EventDigest implements RunDigest {
  readonly phases: string[] = [];
  morePhases = 0;
  readonly oracles: RunDigest['oracles'] = { count: 0 };
  readonly dropped = { lines: 0, characters: 0 };
  readonly agents = { completed: 0, failed: 0, stopped: 0, replayed: 0 };
  modelAnswers = 0;
  retries = 0;
  readonly failures: RunDigest['failures'] = [];
  otherFailures = 0;
  private readonly seenPhases = new Set<string>();
  private scriptOutput = 0;

  constructor(private readonly maxScriptOutput = MAX_SCRIPT_OUTPUT_BYTES) {}

  /**
   * The events to record for this one: itself; nothing, when it is a line the script wrote past
   * the cap; or, for the first line dropped, one notice saying so.
   */
  admit(input: RunEventInput): RunEventInput[] {
    if (!SCRIPT_OUTPUT.has(input.type)) return [input];
    const size = outputSize(input);
    if (this.scriptOutput + size <= this.maxScriptOutput) {
      this.scriptOutput += size;
      return [input];
    }
    const first = this.dropped.lines === 0;
    this.dropped.lines++;
    this.dropped.characters += size - LINE_COST;
    if (!first) return [];
    return [
      {
        type: 'log',
        message:
          `[dwf] the script has written ${Math.round(this.maxScriptOutput / 1024 / 1024)} MiB of log lines, ` +
          'phases and failed items: later ones are dropped from the event log (the run goes on, ' +
          'and the report counts what was dropped)',
      },
    ];
  }

  /** Folds one recorded event into the digest. */
  add(event: RunEvent): void {
    if (event.type === 'phase') {
      // Bounded: phase events count against the script's output cap before they get here.
      if (this.seenPhases.has(event.phase)) return;
      this.seenPhases.add(event.phase);
      if (this.phases.length < MAX_PHASES) this.phases.push(event.phase);
      else this.morePhases++;
    } else if (event.type === 'oracle') {
      this.oracles.first ??= event;
      this.oracles.last = event;
      this.oracles.count++;
    } else if (event.type === 'agent.turn') {
      this.modelAnswers++;
    } else if (event.type === 'agent.retry') {
      this.retries++;
    } else if (event.type === 'agent.finished') {
      this.addAgent(event);
    }
  }

  private addAgent(event: Extract<RunEvent, { type: 'agent.finished' }>): void {
    if (event.replayed) this.agents.replayed++;
    if (event.status === 'completed') this.agents.completed++;
    else if (event.status === 'stopped') this.agents.stopped++;
    else {
      this.agents.failed++;
      const reason = failureReason(event);
      const known = this.failures.find((f) => f.reason === reason);
      if (known) known.count++;
      else if (this.failures.length < MAX_FAILURE_REASONS) this.failures.push({ reason, count: 1 });
      else this.otherFailures++;
      // Most frequent first; a stable sort keeps reasons of equal count in the order they came.
      this.failures.sort((a, b) => b.count - a.count);
    }
  }
}

/** The digest of a list of events (for tests and tools that hold a run's events anyway). */
export function digestEvents(events: Iterable<RunEvent>): RunDigest {
  const digest = new EventDigest(Number.POSITIVE_INFINITY);
  for (const event of events) digest.add(event);
  return digest;
}
