import { performance } from 'node:perf_hooks';
import type { SandboxOutcome } from '../script/sandbox.js';
import { describeFailure, emit, type RunContext } from './context.js';
import { describeFailures, failureCounts, type RunStatus } from './events.js';
import type { FinishedWork, RunEnding, RunSummary } from './options.js';
import { writeJsonAtomic } from './run-dir.js';
import { transcriptsWritten } from './transcript.js';

/**
 * The status of a script's outcome, read from the failure's kind: stopped by the caller (or
 * SIGINT) or by the budget, failed otherwise.
 */
export function statusOf(outcome: SandboxOutcome): RunStatus {
  if (outcome.ok) return 'completed';
  return outcome.failure.kind === 'aborted' || outcome.failure.kind === 'budget' ? 'stopped' : 'failed';
}

/**
 * Why the run fails although its script may have ended well: the model could not be used before
 * any agent succeeded (the engine stopped the run), or every agent that ran failed. A script that
 * handles some failed agents is in control of its outcome; when none succeeded, this wins.
 */
export function agentsFailure(run: RunContext): string | undefined {
  const { agents, failures, otherFailures } = run.digest;
  const more = failures.length > 1 || otherFailures > 0 ? ` (${describeFailures(run.digest)})` : '';
  if (run.unusableModel) {
    if (agents.stopped === 0 && agents.completed === 0)
      return `every agent failed: ${run.unusableModel}${more}`;
    return (
      `${run.unusableModel}${more}; the run was stopped before any agent succeeded ` +
      `(${agents.failed} failed, ${agents.stopped} stopped), since the others would have failed alike`
    );
  }
  if (agents.failed === 0 || agents.completed > 0) return undefined;
  const top = failures[0];
  const explained = (top && run.failureExplanations.get(top.reason)) ?? top?.reason;
  if (agents.stopped === 0) return `every agent failed: ${explained}${more}`;
  return `no agent succeeded (${agents.failed} failed, ${agents.stopped} stopped): ${explained}${more}`;
}

/** The run's status and error from the script's outcome and its agents' (see `agentsFailure`). */
function endingOf(run: RunContext, outcome: SandboxOutcome): Pick<RunEnding, 'status' | 'error'> {
  const scriptError = outcome.ok ? undefined : describeFailure(run.options.file, outcome.failure);
  const status = statusOf(outcome);
  // A run stopped by its caller or its budget stays stopped, unless the engine stopped it.
  const failed = status === 'stopped' && !run.unusableModel ? undefined : agentsFailure(run);
  if (failed === undefined) return { status, ...(scriptError !== undefined ? { error: scriptError } : {}) };
  const after =
    scriptError !== undefined && !run.unusableModel ? `; then the script failed: ${scriptError}` : '';
  return { status: 'failed', error: `${failed}${after}` };
}

function redactedEnding(run: RunContext, outcome: SandboxOutcome): Pick<RunEnding, 'status' | 'error'> {
  const { status, error } = endingOf(run, outcome);
  return { status, ...(error !== undefined ? { error: run.redactor.redact(error) } : {}) };
}

/**
 * Finishes a run whose script has ended and whose agents have settled: writes usage.json, hands
 * the ending to the run's finisher (the report and the commit, `flows/finish.ts`), writes
 * result.json, and closes the logs.
 */
export async function finishRun(run: RunContext, outcome: SandboxOutcome): Promise<RunSummary> {
  const { options, redactor } = run;
  // Every agent has settled: its transcript lines go out now, for the finisher's trace page.
  run.transcripts.flush();
  const usageReport = run.ledger.toJSON();
  writeJsonAtomic(run.paths.usage, usageReport);
  const ending: RunEnding = {
    runId: run.runId,
    runDir: run.paths.dir,
    name: run.checked.meta.name,
    description: run.checked.meta.description,
    args: options.args,
    model: options.provider.id,
    ...redactedEnding(run, outcome),
    // The result and the error reach result.json, the pull request and comments: redacted too.
    result: outcome.ok ? redactor.redactValue(outcome.value) : null,
    digest: run.digest,
    usage: usageReport,
    durationMs: Math.round(performance.now() - run.started),
    replayed: options.provider.id.startsWith('fixture:') || run.resumedEntries > 0,
    ...(run.workspace ? { workspace: run.workspace } : {}),
    redact: (text) => redactor.redact(text),
  };
  const work: FinishedWork = options.finish ? await options.finish(ending) : {};
  let { status, error } = ending;
  if (work.failure !== undefined) {
    if (status === 'completed') status = 'failed';
    error = redactor.redact(error === undefined ? work.failure : `${error}; ${work.failure}`);
  }
  const { branch, reportPath, warnings } = work;
  emit(run, {
    type: 'run.finished',
    status,
    ...(error !== undefined ? { error } : {}),
    ...(branch ? { branch } : {}),
  });
  run.journal.close();
  run.eventLog.close();
  // Transcripts are written off the main thread: the run directory is complete (and can be read,
  // archived or removed) only once they are.
  await transcriptsWritten(run.paths.dir);

  const summary: RunSummary = {
    runId: run.runId,
    status,
    result: ending.result,
    ...(error !== undefined ? { error } : {}),
    runDir: run.paths.dir,
    usage: run.ledger.totals(),
    replayedAgents: usageReport.replayedFromJournal.agents,
    failedAgents: run.digest.agents.failed,
    failures: failureCounts(run.digest),
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    ...(branch ? { branch } : {}),
    ...(reportPath ? { reportPath } : {}),
    ...(warnings && warnings.length > 0 ? { warnings } : {}),
    ...(run.shard ? { shard: run.shard } : {}),
  };
  const { budget } = run;
  writeJsonAtomic(run.paths.result, {
    ...summary,
    name: run.checked.meta.name,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - run.started),
    budget: { tokens: budget.totalTokens, usd: budget.totalUsd, spentTokens: budget.spentTokens },
  });
  return summary;
}
