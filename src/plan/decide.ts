import type { Assessment } from './assess.js';
import type { PlanRequest } from './request.js';

export type { Question } from './questions.js';

export type Decision = 'workflow' | 'subagents' | 'goal' | 'stop';

export interface Verdict {
  decision: Decision;
  reasons: string[];
  /** What stopped the plan, when the verdict is `stop`. */
  stoppedBy?: 'no-oracle' | 'unusable-oracle' | 'no-source-files';
}

/** Fix rounds a plan allows: a full workflow gets a second chance, a small orchestration one round. */
export function plannedRounds(decision: Decision): number {
  return decision === 'workflow' ? 2 : 1;
}

/** Below this many source files, a small orchestration does the job. */
export const FAN_OUT_FILES = 8;

/**
 * The seed's decision tree: an objective oracle, then a massive fan-out, then state that must
 * live through the run. The first "no" decides.
 */
export function decide(
  assessment: Assessment,
  request: PlanRequest,
  options: { allowNoOracle?: boolean; stateless?: boolean } = {},
): Verdict {
  const reasons: string[] = [];
  const readOnly = request.kind === 'research';
  if (assessment.sourceFiles.length === 0) {
    const left = assessment.excluded.map((g) => `${g.label} ${g.files}`).join(', ');
    reasons.push(
      `nothing to work on: no source files in scope${left ? ` (left out: ${left})` : ''}. ` +
        'If the code is there, widen scope.include in the configuration and ask again.',
    );
    return { decision: 'stop', reasons, stoppedBy: 'no-source-files' };
  }
  const unusable = assessment.baseline?.unusable;
  if (assessment.oracle && unusable && !readOnly) {
    reasons.push(
      `the test oracle is unusable: \`${assessment.oracle.command}\` could not run the tests (${unusable}). ` +
        'A baseline that cannot run is not failing tests: nothing could tell a real fix from a plausible one.',
    );
    return { decision: 'stop', reasons, stoppedBy: 'unusable-oracle' };
  }
  if (assessment.oracle) {
    reasons.push(`objective oracle: \`${assessment.oracle.command}\` (from ${assessment.oracle.source})`);
    if (unusable) reasons.push(`its baseline could not run (${unusable}): research does not need it`);
  } else if (readOnly) {
    reasons.push('no test suite, but research changes no code: cross-checked evidence is its oracle');
  } else if (options.allowNoOracle) {
    reasons.push('no test suite or other objective oracle; the configuration allows planning without one');
  } else {
    reasons.push(
      'no test suite or other objective oracle was found: nothing could tell a real fix from a plausible one. ' +
        'Add tests (or configure oracle.command) and ask again.',
    );
    return { decision: 'stop', reasons, stoppedBy: 'no-oracle' };
  }
  const fanOut = assessment.sourceFiles.length;
  if (fanOut < FAN_OUT_FILES) {
    reasons.push(
      `${fanOut} source files in scope: fewer than ${FAN_OUT_FILES}, so a small orchestration is enough`,
    );
    return { decision: 'subagents', reasons };
  }
  reasons.push(`massive fan-out: ${fanOut} source files in scope`);
  if (options.stateless) {
    reasons.push(
      'no state to carry between parts: one agent looping on the goal against its completion check is enough',
    );
    return { decision: 'goal', reasons };
  }
  reasons.push(
    request.kind === 'custom'
      ? 'mid-run state: assumed, since the request spans many files (the script carries it in variables)'
      : 'mid-run state: findings, verdicts and fixes are carried from phase to phase',
  );
  return { decision: 'workflow', reasons };
}
