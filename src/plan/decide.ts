import type { Assessment } from './assess.js';
import type { PlanRequest } from './request.js';

export type Decision = 'workflow' | 'subagents' | 'goal' | 'stop';

export interface Verdict {
  decision: Decision;
  reasons: string[];
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
  if (assessment.oracle) {
    reasons.push(`objective oracle: \`${assessment.oracle.command}\` (from ${assessment.oracle.source})`);
  } else if (readOnly) {
    reasons.push('no test suite, but research changes no code: cross-checked evidence is its oracle');
  } else if (options.allowNoOracle) {
    reasons.push('no test suite or other objective oracle; the configuration allows planning without one');
  } else {
    reasons.push(
      'no test suite or other objective oracle was found: nothing could tell a real fix from a plausible one. ' +
        'Add tests (or configure oracle.command) and ask again.',
    );
    return { decision: 'stop', reasons };
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

export interface Question {
  question: string;
  assumed: string;
}

/** Up to three questions a maintainer may want to answer, each with the default the plan assumes. */
export function clarifyingQuestions(
  assessment: Assessment,
  request: PlanRequest,
  rounds = plannedRounds('workflow'),
): Question[] {
  const roundsQuestion = {
    question: 'How many fix rounds at most?',
    assumed: `${rounds} round${rounds === 1 ? '' : 's'}; what still fails after that is reported as confirmed, not fixed`,
  };
  const scope = {
    question: 'Which files are in scope?',
    assumed: `the ${assessment.sourceFiles.length} source files tracked by git (tests, docs, data and vendored code left out)`,
  };
  switch (request.kind) {
    case 'audit':
    case 'sweep':
      return [
        scope,
        {
          question: 'Which severities should be fixed?',
          assumed: 'fix high and critical; report medium and low without changing code',
        },
        roundsQuestion,
      ];
    case 'bug-hunt':
      return [
        scope,
        {
          question: 'What counts as a bug?',
          assumed: 'wrong behaviour a test could show; style and performance are left out',
        },
        roundsQuestion,
      ];
    case 'migrate':
      return [
        scope,
        {
          question: `What exactly does "${request.target}" mean here?`,
          assumed: 'every file in scope is converted; behaviour stays the same, proven by the test suite',
        },
      ];
    case 'research':
      return [
        {
          question: 'What counts as an answer?',
          assumed: 'claims backed by file and line evidence, each checked by a second agent',
        },
      ];
    case 'custom':
      return [
        scope,
        {
          question: 'May the workflow change code?',
          assumed: 'yes, on its own branch, with each change verified',
        },
      ];
  }
}
