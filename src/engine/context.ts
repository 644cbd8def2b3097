import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRepoCodeRunner, type RepoCodeRunner } from '../agents/isolation.js';
import { Redactor } from '../agents/secrets.js';
import type { CommandRecord } from '../agents/tools.js';
import { Workspace } from '../agents/workspace.js';
import type { WorkflowMeta } from '../script/check.js';
import type { GuestTurns, ScriptFailure } from '../script/sandbox.js';
import { EventDigest, type RunEvent, type RunEventInput } from './events.js';
import { type JournalEntry, Replayer, readJournal } from './journal.js';
import type { CheckedRun, RunOptions } from './options.js';
import { createRunDir, JsonLines, newRunId, type RunPaths, runPaths } from './run-dir.js';
import { Scheduler } from './scheduler.js';
import {
  loadReplayedPointers,
  openTranscripts,
  type ReplayedPointers,
  writeReplayedTranscript,
} from './transcript.js';
import type { AsyncJsonLines } from './transcript-file.js';
import { UsageLedger } from './usage.js';

/** Where a script's agents and logs land: each running script (the run's, or a nested workflow) has its own phase. */
export interface ScriptScope {
  name: string;
  meta: WorkflowMeta;
  depth: number;
  phase?: string;
}

/** The state of one run, shared by the parts of the engine (options, agents, replay, host, oracle, finish). */
export interface RunContext extends CheckedRun {
  readonly options: RunOptions;
  readonly runId: string;
  readonly paths: RunPaths;
  /** `performance.now()` at the start; event times and durations count from here. */
  readonly started: number;
  readonly startedAt: string;
  /** The journal lines of the run this one resumes (none for a fresh run). */
  readonly resumedEntries: number;
  readonly redactor: Redactor;
  /** The digest of the events the report needs; the events themselves stream to events.jsonl. */
  readonly digest: EventDigest;
  readonly journal: JsonLines;
  readonly eventLog: JsonLines;
  /** Every agent's transcript, in one file (see transcript.ts). */
  readonly transcripts: AsyncJsonLines;
  /** Which run ran each agent the resumed run itself replayed, read once when the first is replayed. */
  replayedPointers?: ReplayedPointers;
  /** The repository's map every agent's system prompt carries, made once when the first one starts. */
  repositoryMap?: Promise<string>;
  readonly workspace: Workspace | undefined;
  /** Runs every piece of repository code of this run; none when the run runs none. */
  readonly runner: RepoCodeRunner | undefined;
  readonly ledger: UsageLedger;
  readonly scheduler: Scheduler;
  readonly replayer: Replayer;
  /** Stops everything: the script finished, the caller aborted, or SIGINT. */
  readonly stop: AbortController;
  /** Agents not yet replayed or started. */
  nextIndex: number;
  /** Live agents queued or running. */
  liveAgents: number;
  /** Host work that may still start agents (sandboxes being set up). */
  otherCalls: number;
  budgetAnnounced: boolean;
  pumpScheduled: boolean;
  /**
   * Set when the model cannot be used (unreachable, the key refused, server errors) before any
   * agent succeeded: what happened and what to check. The engine stops the run, which fails with it.
   */
  unusableModel?: string;
  /** What each reason of a failed agent means (a sentence, with what to check), when its provider said (the digest's reasons, capped alike). */
  readonly failureExplanations: Map<string, string>;
  /** Live agents not yet settled: awaited at the end, so their usage counts. */
  readonly inFlight: Set<Promise<unknown>>;
  /**
   * Results reach a script in a later macrotask than they settle (see GuestTurns): a replayed
   * result is handed over only once every script has reacted to the one before, as when the
   * original run received them.
   */
  readonly guestTurns: GuestTurns;
  /** The shard this run is, once its script has taken its slice with `shard()`. */
  shard?: { index: number; count: number };
}

/**
 * Opens a run: reads the journal it resumes, creates its directory, its logs, its workspace and
 * the runner of repository code, and ties its stop to the caller's signal (see `closeSignal`).
 */
export async function openRun(options: RunOptions, checks: CheckedRun): Promise<RunContext> {
  let journalEntries: JournalEntry[] = [];
  if (options.resume !== undefined) {
    const previous = runPaths(options.runsDir, options.resume);
    if (!existsSync(previous.dir))
      throw new Error(`no run "${options.resume}" in ${options.runsDir} to resume`);
    journalEntries = readJournal(previous.journal);
  }

  const runId = newRunId(new Date());
  const paths = createRunDir(options.runsDir, runId, options.source);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const redactor = new Redactor(options.secrets ?? [], options.env ?? process.env);
  const workspace = options.workspace
    ? new Workspace({
        repoDir: options.workspace.repoDir,
        runDir: paths.dir,
        runId,
        secrets: redactor,
        ...(options.resume !== undefined
          ? { resumeFrom: { runDir: runPaths(options.runsDir, options.resume).dir, runId: options.resume } }
          : {}),
      })
    : undefined;
  // One runner for every piece of repository code this run may run, made once.
  const runsRepoCode =
    options.workspace !== undefined &&
    !options.dryRun &&
    (options.workspace.oracle !== undefined || (options.workspace.allowedCommands ?? []).length > 0);
  const runner = runsRepoCode
    ? (options.runner ??
      (await createRepoCodeRunner({
        isolation: options.isolation ?? 'required',
        repoDir: options.workspace!.repoDir,
        hide: [options.runsDir, options.workspace!.repoDir],
      })))
    : undefined;

  const stop = new AbortController();
  // Queued agents share one listener (see Scheduler); each running agent, its model call and its
  // commands listen for the stop themselves, as does each script's sandbox.
  setMaxListeners(checks.maxAgents + 16, stop.signal);
  return {
    ...checks,
    options,
    runId,
    paths,
    started,
    startedAt,
    resumedEntries: journalEntries.length,
    redactor,
    digest: new EventDigest(),
    journal: new JsonLines(paths.journal),
    eventLog: new JsonLines(paths.events),
    transcripts: openTranscripts(paths.dir),
    workspace,
    runner,
    ledger: new UsageLedger(),
    scheduler: new Scheduler(checks.concurrency),
    replayer: new Replayer(journalEntries),
    stop,
    nextIndex: 0,
    liveAgents: 0,
    otherCalls: 0,
    budgetAnnounced: false,
    pumpScheduled: false,
    failureExplanations: new Map(),
    inFlight: new Set(),
    guestTurns: { pending: 0 },
  };
}

/** Stops the run when the caller's signal aborts; returns the function that unties them. */
export function followSignal(run: RunContext): () => void {
  const outer = run.options.signal;
  const onOuterAbort = () => run.stop.abort(outer?.reason ?? new Error('the run was stopped'));
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  return () => outer?.removeEventListener('abort', onOuterAbort);
}

/**
 * Records an event: events stream to events.jsonl; memory keeps only the digest the report needs,
 * and the lines the script writes are capped (past the cap they are dropped, with one notice).
 */
export function emit(run: RunContext, input: RunEventInput): void {
  for (const admitted of run.digest.admit(input)) {
    const raw = { t: Math.round(performance.now() - run.started), ...admitted } as RunEvent;
    // Nothing reaches the event log, the progress view or the report with a secret in it: every
    // string is redacted before it is serialised (a secret with `"` or `\` is escaped after).
    const json = JSON.stringify(raw);
    const redacted = run.redactor.redactJson(json);
    const event = redacted === json ? raw : (JSON.parse(redacted) as RunEvent);
    run.digest.add(event);
    run.eventLog.appendLine(redacted);
    // A replayed agent's transcript points at the one of the run that ran it live.
    if (event.type === 'agent.finished' && event.replayed && run.options.resume !== undefined) {
      run.replayedPointers ??= loadReplayedPointers(runPaths(run.options.runsDir, run.options.resume).dir);
      writeReplayedTranscript(run, run.replayedPointers, run.options.resume, event);
    }
    run.options.onEvent?.(event);
  }
}

/** The event recorder for the commands of agent `index` (or of the oracle, without one). */
export const onCommand = (run: RunContext, index: number | undefined) => (record: CommandRecord) =>
  emit(run, { type: 'command', ...(index !== undefined ? { index } : {}), ...record });

/** Why no more may be spent, if the budget is spent; announced once. */
export function budgetCheck(run: RunContext): string | undefined {
  const reason = run.budget.exhaustedReason();
  if (reason && !run.budgetAnnounced) {
    run.budgetAnnounced = true;
    emit(run, { type: 'budget.exhausted', reason });
  }
  return reason;
}

/**
 * The durability rule: a SIGKILL may lose at most the events of the current turn, never a
 * journal line of an agent whose result the script has seen. Journal and event lines are
 * buffered per turn (see JsonLines), and flushed here, before any script's pending jobs run.
 */
export function flushLogs(run: RunContext): void {
  run.journal.flush();
  run.eventLog.flush();
}

export function describeFailure(file: string, failure: ScriptFailure): string {
  return failure.line !== undefined
    ? `${file}:${failure.line}:${failure.column}: ${failure.message}`
    : failure.message;
}
