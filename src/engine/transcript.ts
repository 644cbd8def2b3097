import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AgentOutcome, AgentTrace } from '../agents/run-agent.js';
import type { Redactor } from '../agents/secrets.js';
import { costUsd } from '../models/pricing.js';
import type { Usage } from '../models/types.js';
import { readJsonLines } from './run-dir.js';
import { AsyncJsonLines } from './transcript-file.js';

export { transcriptsWritten } from './transcript-file.js';

/**
 * The run's transcripts: `transcripts.jsonl` in the run directory, one JSON object a line, each
 * line tagged with its agent's index (`agent`); every agent's lines in the order it wrote them,
 * agents interleaved as they ran. Lines wait at most a second in memory and go out together, off
 * the main thread (see transcript-file.ts). docs/transcripts.md documents the format.
 */
export const TRANSCRIPTS_FILE = 'transcripts.jsonl';
/** Runs made before 2026-11-26 wrote one file per agent, `transcripts/<index>.jsonl`; still read. */
const LEGACY_TRANSCRIPTS_DIR = 'transcripts';

/** The most characters a transcript keeps of each kind of text; past it, the text is cut and says so. */
export const TRANSCRIPT_LIMITS = {
  prompt: 64_000,
  /** A model turn's text. */
  text: 32_000,
  /** A tool call's input, as JSON. */
  toolInput: 16_000,
  toolOutput: 16_000,
  /** The answer (or the error), as JSON. */
  answer: 64_000,
} as const;

interface Line {
  /** Milliseconds since the run started, as in events.jsonl. */
  t: number;
  /** The agent's index in the run. */
  agent: number;
}

export type TranscriptLine = Line &
  (
    | {
        type: 'start';
        index: number;
        label?: string;
        phase?: string;
        model: string;
        prompt: string;
        schema?: unknown;
        tools?: string[];
      }
    | {
        type: 'turn';
        turn: number;
        model: string;
        ms: number;
        retries: number;
        usage: Usage;
        usd: number | null;
        text: string;
        toolCalls: Array<{ id: string; name: string; input: unknown }>;
      }
    | { type: 'tool'; turn: number; id: string; name: string; output: string; isError: boolean; ms: number }
    | { type: 'note'; turn: number; text: string }
    | { type: 'model-error'; turn: number; error: string; ms: number }
    | {
        type: 'end';
        status: AgentOutcome['status'];
        result?: unknown;
        error?: string;
        usage: Usage;
        usd: number | null;
        attempts: number;
        turns: number;
        ms: number;
      }
    | {
        type: 'replayed';
        index: number;
        label?: string;
        phase?: string;
        /** The run that ran this agent live, and its transcripts file, relative to this one. */
        from: string;
        transcript: string;
        usage: Usage;
        usd: number | null;
      }
  ) & {
    /** Texts that were cut: their full length in characters, by field. */
    cut?: Record<string, number>;
  };

/** The file that holds every transcript of a run. */
export function transcriptsPath(runDir: string): string {
  return join(runDir, TRANSCRIPTS_FILE);
}

/** Cuts a text at `limit` characters, saying so at the cut; records its full length in `cut`. */
export function capText(text: string, limit: number, field: string, cut: Record<string, number>): string {
  if (text.length <= limit) return text;
  cut[field] = text.length;
  return `${text.slice(0, limit)}\n[… cut: ${limit} of ${text.length} characters kept; transcripts keep at most ${limit} per ${field}]`;
}

/** A JSON value kept as is when its JSON fits the limit, else as the cut JSON text. */
function capValue(value: unknown, limit: number, field: string, cut: Record<string, number>): unknown {
  const json = JSON.stringify(value) ?? 'undefined';
  return json.length <= limit ? value : capText(json, limit, field, cut);
}

export interface TranscriptRun {
  /** `performance.now()` at the run's start. */
  started: number;
  redactor: Redactor;
  /** The run's transcripts file (`openTranscripts`). */
  transcripts: AsyncJsonLines;
}

/** Opens the transcripts file of a run directory: one writer for all its agents. */
export function openTranscripts(runDir: string): AsyncJsonLines {
  return new AsyncJsonLines(transcriptsPath(runDir), runDir);
}

export interface TranscriptAgent {
  index: number;
  label?: string;
  phase?: string;
  model: string;
}

/**
 * Writes one live agent's transcript as it happens. Every line is redacted (texts before they are
 * cut, then the whole line) before it is serialised.
 */
export class AgentTranscript {
  private readonly began = performance.now();
  private readonly agent: number;

  constructor(
    private readonly run: TranscriptRun,
    agent: TranscriptAgent,
    prompt: string,
    extra: { schema?: unknown; tools?: string[] } = {},
  ) {
    this.agent = agent.index;
    const cut: Record<string, number> = {};
    this.write(
      {
        type: 'start',
        index: agent.index,
        label: agent.label,
        phase: agent.phase,
        model: agent.model,
        prompt: capText(run.redactor.redact(prompt), TRANSCRIPT_LIMITS.prompt, 'prompt', cut),
        schema: extra.schema,
        tools: extra.tools && extra.tools.length > 0 ? extra.tools : undefined,
      },
      cut,
    );
  }

  /** Records one step the agent loop reports (see `AgentDeps.onTrace`). */
  record(entry: AgentTrace): void {
    const cut: Record<string, number> = {};
    const text = (value: string, limit: number, field: string) =>
      capText(this.run.redactor.redact(value), limit, field, cut);
    const ms = 'ms' in entry ? Math.round(entry.ms) : 0;
    switch (entry.kind) {
      case 'turn': {
        const { reply } = entry;
        this.write(
          {
            type: 'turn',
            turn: entry.turn,
            model: reply.model,
            ms,
            retries: reply.retries ?? 0,
            usage: reply.usage,
            usd: costUsd(reply.model, reply.usage),
            text: text(reply.text, TRANSCRIPT_LIMITS.text, 'text'),
            toolCalls: reply.toolCalls.map((call) => ({
              id: call.id,
              name: call.name,
              input: capValue(
                this.run.redactor.redactValue(call.input),
                TRANSCRIPT_LIMITS.toolInput,
                'toolInput',
                cut,
              ),
            })),
          },
          cut,
        );
        return;
      }
      case 'tool':
        this.write(
          {
            type: 'tool',
            turn: entry.turn,
            id: entry.call.id,
            name: entry.call.name,
            output: text(entry.outcome.content, TRANSCRIPT_LIMITS.toolOutput, 'toolOutput'),
            isError: entry.outcome.isError,
            ms,
          },
          cut,
        );
        return;
      case 'model-error':
        this.write(
          {
            type: 'model-error',
            turn: entry.turn,
            error: text(entry.error, TRANSCRIPT_LIMITS.answer, 'error'),
            ms,
          },
          cut,
        );
        return;
      case 'note':
        this.write(
          { type: 'note', turn: entry.turn, text: text(entry.text, TRANSCRIPT_LIMITS.text, 'text') },
          cut,
        );
    }
  }

  /** The agent's outcome: its answer or its error, what it spent; closes the file. */
  end(outcome: AgentOutcome, usd: number | null): void {
    const cut: Record<string, number> = {};
    const completed = outcome.status === 'completed';
    this.write(
      {
        type: 'end',
        status: outcome.status,
        // One of the two, the other undefined (left out of the JSON).
        result: completed
          ? capValue(this.run.redactor.redactValue(outcome.result), TRANSCRIPT_LIMITS.answer, 'answer', cut)
          : undefined,
        error: completed
          ? undefined
          : capText(this.run.redactor.redact(outcome.error), TRANSCRIPT_LIMITS.answer, 'error', cut),
        usage: outcome.usage,
        usd,
        attempts: outcome.attempts,
        turns: outcome.turns,
        ms: Math.round(performance.now() - this.began),
      },
      cut,
    );
  }

  private write(
    line: DistributiveOmit<TranscriptLine, 't' | 'agent' | 'cut'>,
    cut: Record<string, number>,
  ): void {
    // `{"t":…,"agent":…,` then the line's own fields, then `cut` when a text was cut: the JSON is
    // made once, with no copy of the line as an object.
    const t = Math.round(performance.now() - this.run.started);
    const fields = JSON.stringify(line).slice(1, -1);
    const cutJson = Object.keys(cut).length > 0 ? `,"cut":${JSON.stringify(cut)}` : '';
    const json = `{"t":${t},"agent":${this.agent},${fields}${cutJson}}`;
    this.run.transcripts.appendLine(this.run.redactor.redactJson(json));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Which run ran each agent that an earlier run replayed (`replayedPointers`), read once per resume:
 * `map` is there once the read has finished, so the lines of later replayed agents are written at
 * once, with the others, instead of each after its own wait (and its own append).
 */
export interface ReplayedPointers {
  readonly read: Promise<ReadonlyMap<number, string>>;
  map?: ReadonlyMap<number, string>;
}

/** Starts reading the earlier run's pointers (see ReplayedPointers). */
export function loadReplayedPointers(runDir: string): ReplayedPointers {
  const loaded: ReplayedPointers = {
    read: replayedPointers(runDir).then((map) => {
      loaded.map = map;
      return map;
    }),
  };
  return loaded;
}

/**
 * A replayed agent's transcript: one line pointing at the run that ran it live (followed through
 * earlier resumes, so it names the run that really has it). `pointers` are the earlier run's own
 * replayed lines, read once per run.
 */
export function writeReplayedTranscript(
  run: TranscriptRun,
  pointers: ReplayedPointers,
  resumedFrom: string,
  agent: Omit<TranscriptAgent, 'model'> & { usage: Usage; usd: number | null },
): void {
  const t = Math.round(performance.now() - run.started);
  const line = (map: ReadonlyMap<number, string>) => {
    const from = map.get(agent.index) ?? resumedFrom;
    return JSON.stringify({
      t,
      agent: agent.index,
      type: 'replayed',
      index: agent.index,
      label: agent.label,
      phase: agent.phase,
      usage: agent.usage,
      usd: agent.usd,
      from,
      transcript: `../${from}/${TRANSCRIPTS_FILE}`,
    } satisfies TranscriptLine);
  };
  if (pointers.map) {
    run.transcripts.appendLine(line(pointers.map));
    return;
  }
  run.transcripts.track(pointers.read.then((map) => run.transcripts.appendLine(line(map))));
}

/** Which run ran each agent that a run replayed: its `replayed` lines, read once (none: an empty map). */
async function replayedPointers(runDir: string): Promise<ReadonlyMap<number, string>> {
  const pointers = new Map<number, string>();
  let text: string;
  try {
    text = await readFile(transcriptsPath(runDir), 'utf8');
  } catch {
    return pointers;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"type":"replayed"')) continue;
    try {
      const parsed = JSON.parse(line) as TranscriptLine;
      if (parsed.type === 'replayed') pointers.set(parsed.agent, parsed.from);
    } catch {
      // A torn last line of a killed run.
    }
  }
  return pointers;
}

/**
 * Every agent's transcript in a run directory, by agent index (an agent that never started has
 * none). Reads `transcripts.jsonl`, or the per-agent files of a run made before it existed.
 */
export function readTranscripts(runDir: string): Map<number, TranscriptLine[]> {
  const byAgent = new Map<number, TranscriptLine[]>();
  const path = transcriptsPath(runDir);
  if (existsSync(path)) {
    for (const line of readJsonLines<TranscriptLine>(path)) {
      const lines = byAgent.get(line.agent) ?? [];
      byAgent.set(line.agent, lines);
      lines.push(line);
    }
    return byAgent;
  }
  const legacy = join(runDir, LEGACY_TRANSCRIPTS_DIR);
  if (!existsSync(legacy)) return byAgent;
  for (const name of readdirSync(legacy)) {
    const index = /^(\d+)\.jsonl$/.exec(name)?.[1];
    if (index === undefined) continue;
    const agent = Number(index);
    byAgent.set(
      agent,
      readJsonLines<TranscriptLine>(join(legacy, name)).map((line) => ({ ...line, agent })),
    );
  }
  return byAgent;
}

/** One agent's transcript as written, or undefined when it has none (never started). */
export function readTranscript(runDir: string, index: number): TranscriptLine[] | undefined {
  return readTranscripts(runDir).get(index);
}
