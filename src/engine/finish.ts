import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SecretInChangesError } from '../agents/workspace.js';
import { findingsOf, renderReport, type UsageReport } from '../report/report.js';
import type { SandboxOutcome } from '../script/sandbox.js';
import { describeFailure, emit, type RunContext } from './context.js';
import type { RunStatus } from './events.js';
import type { RunSummary } from './options.js';
import { writeJsonAtomic } from './run-dir.js';

/** A run's outcome as the report, the summary and result.json tell it. */
interface Ending {
  status: RunStatus;
  error?: string;
  result: unknown;
  usageReport: UsageReport;
  branch?: string;
}

/**
 * The status of a script's outcome, read from the failure's kind: stopped by the caller (or
 * SIGINT) or by the budget, failed otherwise.
 */
export function statusOf(outcome: SandboxOutcome): RunStatus {
  if (outcome.ok) return 'completed';
  return outcome.failure.kind === 'aborted' || outcome.failure.kind === 'budget' ? 'stopped' : 'failed';
}

/**
 * Finishes a run whose script has ended and whose agents have settled: writes usage.json, commits
 * the changes and the report on one branch, writes report.md and result.json, and closes the logs.
 */
export async function finishRun(run: RunContext, outcome: SandboxOutcome): Promise<RunSummary> {
  const { options, redactor } = run;
  const ending: Ending = {
    status: statusOf(outcome),
    ...(outcome.ok ? {} : { error: redactor.redact(describeFailure(options.file, outcome.failure)) }),
    // The result and the error reach result.json, the pull request and comments: redacted too.
    result: outcome.ok ? redactor.redactValue(outcome.value) : null,
    usageReport: run.ledger.toJSON() as UsageReport,
  };
  const usage = run.ledger.totals();
  writeJsonAtomic(run.paths.usage, ending.usageReport);

  const reportPath = await writeReport(run, ending);
  const { status, error, result, branch } = ending;
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
    result,
    ...(error !== undefined ? { error } : {}),
    runDir: run.paths.dir,
    usage,
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    ...(branch ? { branch } : {}),
    reportPath,
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

/**
 * The report and the changes end on one branch, whatever the outcome: work done is never lost.
 * Sets the ending's branch (and its failure, for changes holding a secret); returns report.md's path.
 */
async function writeReport(run: RunContext, ending: Ending): Promise<string> {
  const { options, redactor, workspace, runId } = run;
  const { meta } = run.checked;
  const changes = await workspace?.summary();
  const reportFor = (branch?: string) =>
    renderReport({
      runId,
      name: meta.name,
      description: meta.description,
      args: options.args,
      model: options.provider.id,
      status: ending.status,
      ...(ending.error !== undefined ? { error: ending.error } : {}),
      result: ending.result,
      digest: run.digest,
      usage: ending.usageReport,
      durationMs: Math.round(performance.now() - run.started),
      ...(changes
        ? { changes: { ...changes, byAgent: workspace!.changes(), ...(branch ? { branch } : {}) } }
        : {}),
      replayed: options.provider.id.startsWith('fixture:') || run.resumedEntries > 0,
    });
  // Commits when anything changed; otherwise removes the worktree and its empty branch. Changes
  // holding a secret are not committed: the run fails, and its report says which files.
  const committed = await workspace
    ?.commit(
      `${meta.name}: changes from dynamic workflow run ${runId}`,
      {
        [`.dynamic-workflows/${runId}/report.md`]: redactor.redact(reportFor(workspace.branch)),
        [`.dynamic-workflows/${runId}/usage.json`]: `${JSON.stringify(ending.usageReport, null, 2)}\n`,
      },
      // Findings without changes still get a branch: the report is worth reviewing on its own.
      { evenWithoutChanges: findingsOf(ending.result).length > 0 },
    )
    .catch((failure: unknown) => {
      if (!(failure instanceof SecretInChangesError)) throw failure;
      if (ending.status === 'completed') ending.status = 'failed';
      ending.error = ending.error === undefined ? failure.message : `${ending.error}; ${failure.message}`;
      return undefined;
    });
  if (committed) {
    ending.branch = committed.branch;
    writeJsonAtomic(join(run.paths.dir, 'changes.json'), {
      ...committed,
      files: changes?.files ?? [],
      byAgent: workspace!.changes(),
    });
  }
  const reportPath = join(run.paths.dir, 'report.md');
  writeFileSync(reportPath, redactor.redact(reportFor(ending.branch)));
  return reportPath;
}
