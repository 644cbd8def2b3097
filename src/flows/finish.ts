import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretInChangesError } from '../agents/workspace.js';
import type { FinishedWork, RunEnding, RunFinisher } from '../engine/run.js';
import { writeJsonAtomic } from '../engine/run-dir.js';
import { findingsOf, renderReport } from '../report/report.js';

export interface FinishOptions {
  /**
   * Also commit report.md and usage.json under `.dynamic-workflows/RUN_ID/` on the branch, which
   * then exists even when nothing changed (a sweep's pull request carries its findings so).
   * Default: the branch holds only the changes; the report is the pull request's body and in the
   * run directory.
   */
  commitReport?: boolean;
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
  const reportFor = (branch: string | undefined, failure?: string) =>
    ending.redact(
      renderReport({
        runId,
        name: ending.name,
        description: ending.description,
        args: ending.args,
        model: ending.model,
        status: failure !== undefined && ending.status === 'completed' ? 'failed' : ending.status,
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
  return {
    ...(committed ? { branch: committed.branch } : {}),
    reportPath,
    ...(failure !== undefined ? { failure } : {}),
  };
}
