import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IsolationMode, RepoCodeRunner } from '../agents/isolation.js';
import { MAX_AGENTS, MAX_CONCURRENCY } from '../engine/run.js';
import type { ModelProvider } from '../models/types.js';
import { checkScript, formatDiagnostics } from '../script/check.js';
import { type Assessment, assessRepository } from './assess.js';
import { type AuthorAttempt, authorScript } from './author.js';
import { decide, type Verdict } from './decide.js';
import { BUILTIN_DIR, type Estimate, estimateScript } from './estimate.js';

export { BUILTIN_DIR };

import { checkGivenArguments, oracleQuestion, plannedArguments, type Question } from './questions.js';
import { type PlanRequest, PlanRequestError, parsePlanRequest } from './request.js';
import { sha256 } from './sha256.js';
import {
  estimateShard,
  type PlanShards,
  planShards,
  type ShardSettings,
  settleShards,
  shardedBudget,
} from './shards.js';

export type { PlanShards } from './shards.js';

export interface PlanOptions extends ShardSettings {
  repoDir: string;
  /** `audit`, `bug-hunt`, `sweep`, `migrate TARGET`, `research QUESTION`, or a request in words. */
  request: string;
  /** Arguments merged over the planned ones (e.g. `rounds`). */
  args?: Record<string, unknown>;
  /** The model the run will use: prices the estimate. */
  model: string;
  /** Writes scripts for requests in words. */
  author?: ModelProvider;
  concurrency?: number;
  maxAgents?: number;
  budget?: { tokens?: number | null; usd?: number | null };
  oracle?: string;
  include?: string[];
  exclude?: string[];
  baseline?: boolean;
  allowNoOracle?: boolean;
  env?: NodeJS.ProcessEnv;
  /** How the baseline runs repository code: isolated (the default) or, opted out by name, not. */
  isolation?: IsolationMode;
  runner?: RepoCodeRunner;
  /** Secret values to redact from the baseline's output (the job's token, the model key...). */
  secrets?: string[];
}

export interface Plan {
  request: PlanRequest;
  assessment: Assessment;
  verdict: Verdict;
  questions: Question[];
  /** The exact script that would run, arguments included; null when the verdict is `stop`. */
  script: string | null;
  scriptSha256: string | null;
  estimate: (Estimate & { worlds?: never }) | null;
  authoring?: AuthorAttempt[];
  /** The runners the run is split across, when 2 or more (see shards.ts); the script binds the split. */
  shards?: PlanShards;
}

export { sha256 };

/**
 * The script a plan offers: the workflow with the arguments it was planned with written in, right
 * after `meta`, so that an approval of the script's hash covers them too. A sharded plan binds them
 * through `shard(...)`, so the approval covers the list, the argument split and the count as well.
 */
export function bindArgs(
  source: string,
  args: Record<string, unknown>,
  shard?: { arg: string; count: number },
): string {
  const checked = checkScript(source);
  if (!checked.ok)
    throw new Error(`the workflow does not check:\n${formatDiagnostics('workflow', checked.diagnostics)}`);
  const head = source.slice(0, checked.metaEnd);
  const rest = source.slice(checked.metaEnd);
  const json = JSON.stringify(args, null, 2);
  if (!shard)
    return `${head}\n\n// The arguments this plan was made with: an approval of this script covers them too.\nconst args = ${json};\n${rest}`;
  const split = `{ arg: ${JSON.stringify(shard.arg)}, count: ${shard.count} }`;
  return (
    `${head}\n\n// The arguments this plan was made with, args.${shard.arg} split across ${shard.count} runners: ` +
    `each runs this script on its own slice (shard()). An approval of this script covers them, the split and the count.\n` +
    `const args = shard(${json}, ${split});\n${rest}`
  );
}

/** Assessment, verdict, questions, the script and its estimate: everything a user reads before spending a token. */
export async function createPlan(options: PlanOptions): Promise<Plan> {
  const request = parsePlanRequest(options.request);
  // Before anything is assessed: a wrong argument would make the plan say one thing and run another.
  const wrong = checkGivenArguments(options.args);
  if (wrong) throw new PlanRequestError(wrong);
  const assessment = await assessRepository(options.repoDir, {
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.oracle ? { oracle: options.oracle } : {}),
    ...(options.baseline ? { baseline: true } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.isolation ? { isolation: options.isolation } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const verdict = decide(assessment, request, { ...(options.allowNoOracle ? { allowNoOracle: true } : {}) });
  // One set of values: each question's default is the argument bound into the script.
  const planned = plannedArguments(assessment, request, verdict, options.args);
  const questions =
    verdict.stoppedBy === 'unusable-oracle'
      ? [oracleQuestion(assessment)]
      : verdict.stoppedBy === 'no-source-files'
        ? []
        : planned.questions;
  const base: Plan = {
    request,
    assessment,
    verdict,
    questions,
    script: null,
    scriptSha256: null,
    estimate: null,
  };
  if (verdict.decision === 'stop') return base;

  const concurrency = options.concurrency ?? MAX_CONCURRENCY;
  const maxAgents = options.maxAgents ?? MAX_AGENTS;
  let script: string;
  let authoring: AuthorAttempt[] | undefined;
  /** The built-in workflow the script binds arguments into (none for a script a model wrote). */
  let template: string | undefined;
  if (request.kind === 'custom') {
    if (!options.author) {
      throw new Error(
        'a request in words needs a model to write its script: pass --model anthropic:MODEL (or a fixture)',
      );
    }
    const written = await authorScript({
      provider: options.author,
      request: request.text,
      assessment,
      maxAgents,
      concurrency,
      model: options.model,
    });
    // One trailing newline, so that the script shown in a comment hashes to the same value.
    script = `${written.script.trimEnd()}\n`;
    authoring = written.attempts;
  } else {
    template = readFileSync(join(BUILTIN_DIR, `${request.kind}.js`), 'utf8');
    script = bindArgs(template, planned.args);
  }
  const dryRun = {
    file: 'plan.js',
    model: options.model,
    concurrency,
    maxAgents,
    repoDir: options.repoDir,
  };
  const { worlds: _worlds, ...estimate } = await estimateScript({
    ...dryRun,
    source: script,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  // Split across runners when the workflow allows it and one runner would take too long: the same
  // arguments, bound through shard(); run without a shard index, the script does what it did.
  let shards = template
    ? planShards({
        shardArg: checkScript(template).meta?.shard,
        args: planned.args,
        estimate,
        settings: options,
      })
    : undefined;
  if (template && shards) {
    const bind = (args: Record<string, unknown>) => bindArgs(template!, args);
    shards = await settleShards(shards, {
      list: (planned.args[shards.arg] as unknown[]).map(String),
      budget: estimate.budget,
      maxAgents,
      estimate: (each) => estimateShard(each, bind, planned.args, { ...dryRun, budget: each.budgetEach }),
    });
    script = bindArgs(template, planned.args, { arg: shards.arg, count: shards.count });
    const budgeted = shardedBudget(estimate.budget, shards);
    shards = budgeted.shards;
    if (budgeted.budget) estimate.budget = budgeted.budget;
  }
  return {
    ...base,
    script,
    scriptSha256: sha256(script),
    estimate,
    ...(authoring ? { authoring } : {}),
    ...(shards ? { shards } : {}),
  };
}
