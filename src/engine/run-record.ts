import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { billedTokens } from '../models/types.js';
import type { RunEvent } from './events.js';
import { isRunId, readJsonLines } from './run-dir.js';
import type { UsageTotals } from './usage.js';

/** What result.json holds (see engine/finish.ts); absent for a run that is going on or was killed. */
export interface ResultFile {
  runId: string;
  status: string;
  result?: unknown;
  error?: string;
  name?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  usage?: UsageTotals;
  replayedAgents?: number;
  resumedFrom?: string;
  branch?: string;
  /** Which shard of a split run this run was (see RunSummary.shard). */
  shard?: { index: number; count: number };
}

/** What usage.json holds, as far as readers of a finished run need it. */
export interface UsageFile {
  totals: UsageTotals;
  byPhase: Record<string, UsageTotals>;
  replayedFromJournal: UsageTotals;
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readResultFile(runDir: string): ResultFile | undefined {
  return readJson<ResultFile>(join(runDir, 'result.json'));
}

export function readUsageFile(runDir: string): UsageFile | undefined {
  return readJson<UsageFile>(join(runDir, 'usage.json'));
}

/** A run's events as recorded (none when the file is missing). */
export function readRunEvents(runDir: string): RunEvent[] {
  const path = join(runDir, 'events.jsonl');
  return existsSync(path) ? readJsonLines<RunEvent>(path) : [];
}

/** One line of `dwf runs`. */
export interface RunListing {
  runId: string;
  dir: string;
  workflow: string;
  /** `completed`, `failed`, `stopped`, or `unfinished` (no result.json: going on, or killed). */
  status: string;
  agents: number;
  replayedAgents: number;
  tokens: number;
  usd: number | null;
  startedAt: string;
  durationMs: number | null;
}

/** The start of a run from its id (`20261126-142501-…` is UTC). */
export function startOfRunId(runId: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(runId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : '';
}

/** A run, read from its directory: result.json and usage.json when it finished, else its events. */
export function runListing(runsDir: string, runId: string): RunListing {
  const dir = join(runsDir, runId);
  const result = readResultFile(dir);
  const usage = readUsageFile(dir);
  if (result && usage) {
    const t = usage.totals;
    return {
      runId,
      dir,
      workflow: result.name ?? '?',
      status: result.status,
      agents: t.agents + (usage.replayedFromJournal?.agents ?? 0),
      replayedAgents: usage.replayedFromJournal?.agents ?? 0,
      tokens: billedTokens(t),
      usd: t.usd,
      startedAt: result.startedAt ?? startOfRunId(runId),
      durationMs: result.durationMs ?? null,
    };
  }
  const events = readRunEvents(dir);
  let workflow = '?';
  let tokens = 0;
  let usd: number | null = null;
  const agents = new Set<number>();
  let replayed = 0;
  for (const e of events) {
    if (e.type === 'run.started') workflow = e.name;
    if (e.type === 'agent.queued' || e.type === 'agent.finished') agents.add(e.index);
    if (e.type === 'agent.finished') {
      if (e.replayed) replayed++;
      else {
        tokens += billedTokens(e.usage);
        if (e.usd !== null) usd = (usd ?? 0) + e.usd;
      }
    }
  }
  return {
    runId,
    dir,
    workflow,
    status: 'unfinished',
    agents: agents.size,
    replayedAgents: replayed,
    tokens,
    usd,
    startedAt: startOfRunId(runId),
    durationMs: events.length > 0 ? events[events.length - 1]!.t : null,
  };
}

/** Every run in a runs directory, newest first. */
export function listRuns(runsDir: string): RunListing[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter((name) => isRunId(name) && statSync(join(runsDir, name)).isDirectory())
    .sort()
    .reverse()
    .map((runId) => runListing(runsDir, runId));
}
