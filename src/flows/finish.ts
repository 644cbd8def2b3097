import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretInChangesError } from '../agents/workspace.js';
import type { FinishedWork, RunEnding, RunFinisher } from '../engine/run.js';
import { writeJsonAtomic } from '../engine/run-dir.js';
import { readRunEvents, startOfRunId } from '../engine/run-record.js';
import { readTranscripts, transcriptsWritten } from '../engine/transcript.js';
import type { PhaseEstimate } from '../plan/estimate.js';
import { reconcile } from '../report/reconcile.js';
import { findingsOf, renderReport } from '../report/report.js';
import { escapeHtml, renderTrace, type TraceData, traceData } from '../report/trace.js';

export interface FinishOptions {
  /**
   * Also commit report.md and usage.json under `.dynamic-workflows/RUN_ID/` on the branch, which
   * then exists even when nothing changed (a sweep's pull request carries its findings so).
   * Default: the branch holds only the changes; the report is the pull request's body and in the
   * run directory.
   */
  commitReport?: boolean;
  /** The plan's per-phase estimate, for the report's estimate vs actual. */
  estimate?: PhaseEstimate[];
}

/** The finish every door shares, with its options. */
export function reportAndCommitWith(options: FinishOptions): RunFinisher {
  return (ending) => finish(ending, options);
}

/** The finish every door shares, by default: changes committed, the report beside them. */
export const reportAndCommit: RunFinisher = reportAndCommitWith({});

/**
 * The changes end on one branch whatever the outcome, so work done is never lost, and report.md is
 * written in the run directory. A run that changed nothing leaves no branch (unless it commits its
 * report). Changes holding a secret are not committed: the run fails, and its report says which files.
 */
async function finish(ending: RunEnding, options: FinishOptions): Promise<FinishedWork> {
  const { workspace, runId } = ending;
  const changes = await workspace?.summary();
  // A failure of the finish (changes holding a secret) fails a run that had completed, as the engine records it.
  const statusWith = (failure: string | undefined) =>
    failure !== undefined && ending.status === 'completed' ? 'failed' : ending.status;
  const reportFor = (branch: string | undefined, failure?: string) =>
    ending.redact(
      renderReport({
        runId,
        name: ending.name,
        description: ending.description,
        args: ending.args,
        model: ending.model,
        status: statusWith(failure),
        ...(failure !== undefined || ending.error !== undefined
          ? { error: [ending.error, failure].filter((e) => e !== undefined).join('; ') }
          : {}),
        result: ending.result,
        digest: ending.digest,
        usage: ending.usage,
        durationMs: ending.durationMs,
        ...(changes
          ? { changes: { ...changes, byAgent: workspace!.changes(), ...(branch ? { branch } : {}) } }
          : {}),
        replayed: ending.replayed,
        ...(options.estimate ? { estimate: options.estimate } : {}),
      }),
    );
  let failure: string | undefined;
  // Commits when anything changed; otherwise removes the worktree and its empty branch.
  const committed = await workspace
    ?.commit(
      `${ending.name}: changes from dynamic workflow run ${runId}`,
      options.commitReport
        ? {
            [`.dynamic-workflows/${runId}/report.md`]: reportFor(workspace.branch),
            [`.dynamic-workflows/${runId}/usage.json`]: `${JSON.stringify(ending.usage, null, 2)}\n`,
          }
        : {},
      // A committed report of findings is worth reviewing even without changes.
      { evenWithoutChanges: options.commitReport === true && findingsOf(ending.result).length > 0 },
    )
    .catch((error: unknown) => {
      if (!(error instanceof SecretInChangesError)) throw error;
      failure = error.message;
      return undefined;
    });
  if (committed) {
    writeJsonAtomic(join(ending.runDir, 'changes.json'), {
      ...committed,
      files: changes?.files ?? [],
      byAgent: workspace!.changes(),
    });
  }
  const reportPath = join(ending.runDir, 'report.md');
  writeFileSync(reportPath, reportFor(committed?.branch, failure));
  await writeTracePage(
    ending.runDir,
    {
      runId,
      name: ending.name,
      status: statusWith(failure),
      ...(ending.error !== undefined ? { error: ending.error } : {}),
      durationMs: ending.durationMs,
      model: ending.model,
    },
    ending.redact,
  );
  // The report's caution, said where the run ends too: the terminal, --json, the job summary.
  const { problems } = reconcile(findingsOf(ending.result), changes?.files ?? [], ending.digest.oracles);
  return {
    ...(committed ? { branch: committed.branch } : {}),
    reportPath,
    ...(failure !== undefined ? { failure } : {}),
    ...(problems.length > 0 ? { warnings: problems.map((p) => `the run's claims do not add up: ${p}`) } : {}),
  };
}

/**
 * Writes trace.html in a run directory from its events and transcripts (docs/transcripts.md). It
 * waits one turn first, so the event lines buffered in this one are on disk, and then for the
 * transcripts' writes. A page that cannot be
 * made says why instead: the run's outcome never depends on it.
 */
export async function writeTracePage(
  runDir: string,
  run: TraceData['run'],
  redact: (text: string) => string = (text) => text,
): Promise<string> {
  await new Promise((resolve) => setImmediate(resolve));
  await transcriptsWritten(runDir);
  const path = join(runDir, 'trace.html');
  let html: string;
  try {
    const transcripts = readTranscripts(runDir);
    html = renderTrace(
      traceData({
        run: { startedAt: startOfRunId(run.runId), ...run },
        events: readRunEvents(runDir),
        transcript: (index) => transcripts.get(index),
      }),
    );
  } catch (error) {
    html = `<!doctype html><meta charset="utf-8"><title>trace</title><p>The trace page of run ${escapeHtml(run.runId)} could not be made: ${escapeHtml(String(error))}</p>`;
  }
  // Everything in it was redacted when it was recorded; the page as a whole is checked once more.
  writeFileSync(path, redact(html));
  return path;
}
