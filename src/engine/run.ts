import { emit, followSignal, openRun } from './context.js';
import { finishRun } from './finish.js';
import { runScript } from './host.js';
import { checkRunOptions, type RunOptions, type RunSummary } from './options.js';

export {
  type FinishedWork,
  MAX_AGENTS,
  MAX_CONCURRENCY,
  type RunEnding,
  type RunFinisher,
  type RunOptions,
  type RunSummary,
  type SavedWorkflow,
  type WorkflowResolver,
  type WorkspaceOptions,
} from './options.js';

/**
 * Runs a workflow script to the end: checks it, executes it in the sandbox, schedules its agents
 * under the caps and the budget, and records everything in the run directory.
 *
 * The parts: `options` (the checks), `context` (the run's shared state, its events and logs),
 * `host` (the functions the script calls), `live-agent` and `replay` (the agents), `oracle`, and
 * `finish` (status, usage, result; the report and the commit through `options.finish`).
 */
export async function runWorkflow(options: RunOptions): Promise<RunSummary> {
  const run = await openRun(options, checkRunOptions(options));
  const untie = followSignal(run);
  const { checked, runner } = run;

  emit(run, {
    type: 'run.started',
    runId: run.runId,
    name: checked.meta.name,
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    concurrency: run.concurrency,
    maxAgents: run.maxAgents,
    ...(run.budget.totalTokens !== null || run.budget.totalUsd !== null
      ? { budget: { tokens: run.budget.totalTokens, usd: run.budget.totalUsd } }
      : {}),
  });
  // The log says how repository code runs: isolated, unisolated by choice, or refused.
  if (runner) emit(run, { type: 'log', message: runner.description });

  const outcome = await runScript(
    run,
    { name: checked.meta.name, meta: checked.meta, depth: 0 },
    checked.body,
    options.file,
    options.args,
  );

  // Agents the script started but never awaited are stopped; their usage still counts.
  if (!run.stop.signal.aborted) run.stop.abort(new Error('the script finished'));
  await Promise.allSettled([...run.inFlight]);
  untie();
  return finishRun(run, outcome);
}
