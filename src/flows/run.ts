import { join } from 'node:path';
import { repositoryDefinitionDirs } from '../agents/agent-definitions.js';
import { trackedFiles } from '../agents/git.js';
import type { RunEvent } from '../engine/events.js';
import { type RunSummary, runWorkflow } from '../engine/run.js';
import { savedWorkflows } from '../engine/saved-workflows.js';
import { detectOracle } from '../plan/assess.js';
import type { Budgeted, PhaseEstimate } from '../plan/estimate.js';
import { BUILTIN_DIR } from '../plan/estimate.js';
import type { Plan } from '../plan/plan.js';
import { reportAndCommitWith } from './finish.js';
import { type PlanRequestOptions, planRequest } from './plan.js';
import type { RunSettings } from './settings.js';
import { adoptWorkingCopy } from './working-copy.js';

/** Settings a run can use: they say where its run directory goes. */
export type RunnableSettings = RunSettings & { runsDir: string };

export interface ScriptToRun {
  source: string;
  /** How errors and the run name the script (a path, `plan-ID.js`). */
  file: string;
  args?: unknown;
  /**
   * The test command when the settings name none: the plan's (`planned`), or the one the
   * repository's files suggest (`detect`), or none.
   */
  oracle?: { planned: string } | 'detect';
  /** The id of an earlier run in the runs directory whose journal this run replays. */
  resume?: string;
  onEvent?: (event: RunEvent) => void;
  /** The plan's estimate: its phases go in the report; its budget applies when the settings have none. */
  estimate?: { phases?: PhaseEstimate[]; budget?: Budgeted };
}

/** A finished run: its summary, with the report every door shows. */
export type FinishedRun = RunSummary & { reportPath: string };

/**
 * Runs a script (an approved plan's, or one the user gave) with the settings every door builds the
 * same way, and finishes it: the report, and the changes on one branch.
 */
export async function runScript(settings: RunnableSettings, script: ScriptToRun): Promise<FinishedRun> {
  const { repoDir } = settings;
  const command =
    settings.oracle.command ??
    (script.oracle === 'detect'
      ? detectOracle(repoDir, await trackedFiles(repoDir))?.command
      : script.oracle?.planned);
  // A resume in a later job: the earlier run's working copy came with its artifact (working-copy.ts).
  if (script.resume !== undefined) await adoptWorkingCopy(repoDir, settings.runsDir, script.resume);
  const summary = await runWorkflow({
    source: script.source,
    file: script.file,
    ...(script.args !== undefined ? { args: script.args } : {}),
    provider: settings.provider,
    runsDir: settings.runsDir,
    ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    ...(settings.maxAgents !== undefined ? { maxAgents: settings.maxAgents } : {}),
    budget: budgetOf(settings.budget, script.estimate?.budget),
    workspace: {
      repoDir,
      allowedCommands: settings.allowedCommands,
      ...(command ? { oracle: { command, timeoutSeconds: settings.oracle.timeoutSeconds } } : {}),
    },
    workflows: savedWorkflows({ repoDir, builtinDir: BUILTIN_DIR }),
    // The built-in workflows' own agent definitions, then the repository's, which win by name.
    agentDefinitionDirs: [join(BUILTIN_DIR, 'agents'), ...repositoryDefinitionDirs(repoDir)],
    ...(settings.env ? { env: settings.env } : {}),
    ...(settings.secrets ? { secrets: settings.secrets } : {}),
    isolation: settings.isolation,
    ...(settings.signal ? { signal: settings.signal } : {}),
    ...(script.resume !== undefined ? { resume: script.resume } : {}),
    ...(script.onEvent ? { onEvent: script.onEvent } : {}),
    ...(settings.shard ? { shard: settings.shard } : {}),
    finish: reportAndCommitWith({
      commitReport: settings.commitReport,
      ...(script.estimate?.phases ? { estimate: script.estimate.phases } : {}),
    }),
  });
  // The finisher always writes report.md.
  return summary as FinishedRun;
}

/** A plan that was run: the plan, and the run's summary when the plan offered a script. */
export interface PlannedRun {
  plan: Plan;
  summary?: FinishedRun;
}

/**
 * Plans a request and runs exactly the planned script (`dwf run audit`, the scheduled sweep), on
 * this one runner: never split into shards, whatever `maxShards` says.
 * `onPlanned` sees the plan before anything runs; a plan with no script (verdict `stop`) runs nothing.
 */
export async function planAndRun(
  settings: RunnableSettings,
  request: PlanRequestOptions & { file?: string; onPlanned?(plan: Plan): void },
  run: Pick<ScriptToRun, 'onEvent' | 'resume'> = {},
): Promise<PlannedRun> {
  // One process runs the whole plan: it is planned unsplit (a split is for a matrix of runners).
  const plan = await planRequest({ ...settings, maxShards: 1 }, request);
  request.onPlanned?.(plan);
  if (!plan.script) return { plan };
  const summary = await runScript(settings, {
    source: plan.script,
    file: request.file ?? `${request.request}.js`,
    ...(plan.assessment.oracle ? { oracle: { planned: plan.assessment.oracle.command } } : {}),
    ...(plan.estimate ? { estimate: plan.estimate } : {}),
    ...run,
  });
  return { plan, summary };
}

/** The configured budget; when it sets no ceiling, the one the plan derived from its estimate. */
export function budgetOf(
  configured: RunSettings['budget'],
  fromPlan: Budgeted | undefined,
): RunSettings['budget'] {
  if (configured.tokens !== null || configured.usd !== null || fromPlan?.source !== 'estimate')
    return configured;
  return { tokens: fromPlan.tokens, usd: fromPlan.usd };
}
