import { noRepoCode } from '../agents/isolation.js';
import { runOracle } from '../agents/tools.js';
import { emit, onCommand, type RunContext } from './context.js';

/** `oracle()`: runs the test command on the run's working copy (or answers the dry run's verdict). */
export async function callOracle(run: RunContext): Promise<unknown> {
  const { dryRun } = run.options;
  if (dryRun) {
    const passed = dryRun.oraclePasses;
    const verdict = {
      passed,
      exitCode: passed ? 0 : 1,
      summary: `dry run: the tests ${passed ? 'pass' : 'fail'}`,
      durationMs: 0,
    };
    emit(run, { type: 'oracle', ...verdict });
    return verdict;
  }
  const oracle = run.options.workspace?.oracle;
  if (!run.workspace || !oracle) {
    throw new Error('oracle(): no test command is configured for this run (dwf run --oracle "npm test")');
  }
  const result = await runOracle(
    oracle,
    {
      runner: run.runner ?? noRepoCode,
      redactor: run.redactor,
      signal: run.stop.signal,
      onCommand: onCommand(run, undefined),
    },
    await run.workspace.root(),
  );
  const { output: _output, ...verdict } = result;
  emit(run, { type: 'oracle', ...verdict });
  return verdict;
}
