import { type RunSummary, runWorkflow } from '../engine/run.js';
import { savedWorkflows } from '../engine/saved-workflows.js';
import type { Config } from '../github/config.js';
import type { GitHubPort } from '../github/port.js';
import type { ModelProvider } from '../models/types.js';
import { BUILTIN_DIR } from '../plan/estimate.js';
import { createPlan } from '../plan/plan.js';
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
  | {
      status: RunSummary['status'];
      summary: RunSummary;
      newFindings: number;
      pullRequest?: { number: number; url: string };
    };

/**
 * The scheduled sweep: no human approval, the configuration's sweep budget is the approval.
 * Findings an earlier sweep reported (recorded in the pull request the bot opened for it) are left
 * out; anyone else's pull request suppresses nothing. A sweep that finds nothing new opens nothing.
 */
export async function runSweep(o: SweepOptions): Promise<SweepOutcome> {
  const earlier = await o.github.listPullRequests();
  const known = [...new Set(earlier.flatMap((pr) => knownFrom(pr, o.trusted)))];
  const template = o.config.sweep?.template ?? 'sweep';
  const budget = o.config.sweep?.budget ?? o.config.budget;
  const plan = await createPlan({
    repoDir: o.repoDir,
    request: template,
    model: o.provider.modelFor(o.provider.defaultModel),
    args: { known },
    concurrency: o.config.concurrency,
    maxAgents: o.config.maxAgents,
    ...(o.config.oracle?.command ? { oracle: o.config.oracle.command } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
  if (!plan.script) return { status: 'skipped', reason: plan.verdict.reasons.join(' ') };
  const summary = await runWorkflow({
    source: plan.script,
    file: `${template}.js`,
    provider: o.provider,
    runsDir: o.runsDir,
    concurrency: o.config.concurrency,
    maxAgents: o.config.maxAgents,
    budgetTokens: budget.tokens ?? null,
    budgetUsd: budget.usd ?? null,
    workspace: {
      repoDir: o.repoDir,
      ...(plan.assessment.oracle
        ? {
            oracle: {
              command: plan.assessment.oracle.command,
              timeoutSeconds: o.config.oracle?.timeoutSeconds ?? 600,
            },
          }
        : {}),
    },
    workflows: savedWorkflows({ repoDir: o.repoDir, builtinDir: BUILTIN_DIR }),
    ...(o.env ? { env: o.env } : {}),
    ...(o.secrets ? { secrets: o.secrets } : {}),
    isolation: o.config.isolation,
  });
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
