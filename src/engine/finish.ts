import { performance } from 'node:perf_hooks';
import type { SandboxOutcome } from '../script/sandbox.js';
import { describeFailure, emit, type RunContext } from './context.js';
import type { RunStatus } from './events.js';
import type { FinishedWork, RunEnding, RunSummary } from './options.js';
import { writeJsonAtomic } from './run-dir.js';

/**
 * The status of a script's outcome, read from the failure's kind: stopped by the caller (or
 * SIGINT) or by the budget, failed otherwise.
 */
export function statusOf(outcome: SandboxOutcome): RunStatus {
  if (outcome.ok) return 'completed';
  return outcome.failure.kind === 'aborted' || outcome.failure.kind === 'budget' ? 'stopped' : 'failed';
}

/**
 * Finishes a run whose script has ended and whose agents have settled: writes usage.json, hands
 * the ending to the run's finisher (the report and the commit, `flows/finish.ts`), writes
 * result.json, and closes the logs.
 */
export async function finishRun(run: RunContext, outcome: SandboxOutcome): Promise<RunSummary> {
  const { options, redactor } = run;
  const usageReport = run.ledger.toJSON();
  writeJsonAtomic(run.paths.usage, usageReport);
  const ending: RunEnding = {
    runId: run.runId,
    runDir: run.paths.dir,
    name: run.checked.meta.name,
    description: run.checked.meta.description,
    args: options.args,
    model: options.provider.id,
    status: statusOf(outcome),
    ...(outcome.ok ? {} : { error: redactor.redact(describeFailure(options.file, outcome.failure)) }),
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
  const { branch, reportPath } = work;
  emit(run, {
    type: 'run.finished',
    status,
    ...(error !== undefined ? { error } : {}),
    ...(branch ? { branch } : {}),
  });
  run.journal.close();
  run.eventLog.close();

  const summary: RunSummary = {
    runId: run.runId,
    status,
    result: ending.result,
    ...(error !== undefined ? { error } : {}),
    runDir: run.paths.dir,
    usage: run.ledger.totals(),
    replayedAgents: usageReport.replayedFromJournal.agents,
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    ...(branch ? { branch } : {}),
    ...(reportPath ? { reportPath } : {}),
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
