import { join } from 'node:path';
import { listRuns } from '../engine/run-record.js';
import type { FinishedRun } from '../flows/run.js';
import { planAndRun } from '../flows/run.js';
import { placeOf, runSettings } from '../flows/settings.js';
import type { Config } from '../github/config.js';
import type { GitHubPort } from '../github/port.js';
import { batchLog } from '../models/batch.js';
import type { ModelProvider } from '../models/types.js';
import { findingsOf } from '../report/report.js';
import { knownFrom, openPullRequest } from './pull-request.js';

export interface SweepOptions {
  /** The repository's GitHub: the earlier sweeps' pull requests, and this one's. */
  github: GitHubPort;
  repoDir: string;
  runsDir: string;
  provider: ModelProvider;
  config: Config;
  /** Logins whose pull requests are the bot's (the job's identity, the app): only theirs hold known findings. */
  trusted: string[];
  push(branch: string): Promise<void>;
  env?: NodeJS.ProcessEnv;
  /** Secret values the job holds (token, model key, configured ones): redacted from everything. */
  secrets?: string[];
}

export type SweepOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'refused'; reason: string }
  | {
      status: FinishedRun['status'];
      summary: FinishedRun;
      newFindings: number;
      pullRequest?: { number: number; url: string };
    };

/**
 * The scheduled sweep: no human approval, the configuration's sweep budget is the approval (and
 * without one, the sweep is refused before anything is called).
 * Findings an earlier sweep reported (recorded in the pull request the bot opened for it) are left
 * out; anyone else's pull request suppresses nothing. A sweep that finds nothing new opens nothing.
 */
export async function runSweep(o: SweepOptions): Promise<SweepOutcome> {
  const own = o.config.sweep?.budget;
  if (own?.tokens === undefined && own?.usd === undefined) {
    // Nobody approves a scheduled sweep: without a budget of its own, nothing says how much it may spend.
    return {
      status: 'refused',
      reason:
        'the scheduled sweep needs its own budget, which is its approval: set sweep.budget.tokens or sweep.budget.usd ' +
        'in .github/dynamic-workflows.yml (`dwf init --sweep --sweep-budget-usd 5 --force` writes it)',
    };
  }
  const earlier = await o.github.listPullRequests();
  const known = [...new Set(earlier.flatMap((pr) => knownFrom(pr, o.trusted)))];
  const template = o.config.sweep?.template ?? 'sweep';
  const settings = runSettings(
    placeOf({
      ...o,
      // `sweep.batch`: the same model through the Message Batches API, at half price, its batches
      // recorded beside the runs so that the next job can collect those still in flight.
      provider:
        (o.config.sweep?.batch && o.provider.withBatches?.(batchLog(join(o.runsDir, 'batches.jsonl')))) ||
        o.provider,
    }),
    o.config,
    // The sweep's own budget, when configured, is its approval. Its pull request carries its new
    // findings (and their fingerprints) even when it fixed nothing, so the report is committed.
    { budget: own, commitReport: true },
  );
  // A sweep that outlived its job (its run directory kept, no result in it) goes on from its journal.
  const [latest] = listRuns(o.runsDir);
  const resume = latest?.status === 'unfinished' ? { resume: latest.runId } : {};
  const { plan, summary } = await planAndRun(settings, { request: template, args: { known } }, resume);
  if (!summary) return { status: 'skipped', reason: plan.verdict.reasons.join(' ') };
  const newFindings = findingsOf(summary.result).length;
  if (!summary.branch || newFindings === 0) return { status: summary.status, summary, newFindings };
  const pullRequest = await openPullRequest(
    o,
    { ...summary, branch: summary.branch },
    { sweep: true, known },
  );
  return {
    status: summary.status,
    summary,
    newFindings,
    pullRequest,
  };
}
