import type { Assessment } from './assess.js';
import { plannedRounds, type Verdict } from './decide.js';
import type { PlanRequest } from './request.js';

/**
 * A question a maintainer may want to answer, with the default the plan assumes. Where the answer
 * is an argument of the script, `arg` names it and `value` is what the plan binds into the script:
 * `assumed` is written from that value, so what the plan says is what runs.
 */
export interface Question {
  question: string;
  assumed: string;
  arg?: string;
  value?: unknown;
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/**
 * The severities each built-in fixes unless told otherwise. An audit or a bug hunt fixes what is
 * medium or worse (a human approves the plan and reviews the pull request; every fix must pass the
 * tests); the scheduled sweep, which runs without a human approval, fixes high and critical only.
 */
export const DEFAULT_FIX: Record<'audit' | 'bug-hunt' | 'sweep', string[]> = {
  audit: ['medium', 'high', 'critical'],
  'bug-hunt': ['medium', 'high', 'critical'],
  sweep: ['high', 'critical'],
};

/** What a bug hunt looks for: the `focus` it binds, the same words as the template's own default. */
export const BUG_FOCUS =
  'bugs: wrong results, crashes, unhandled errors, off-by-one and boundary mistakes, races (not style, not performance)';

function list(items: string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `fix medium, high and critical; report low without changing code`, from the `fix` argument. */
export function describeFix(fix: unknown): string {
  const wanted = Array.isArray(fix) ? fix.map(String) : [];
  const known: readonly string[] = SEVERITIES;
  const fixed = [
    ...SEVERITIES.filter((s) => wanted.includes(s)),
    ...wanted.filter((s) => !known.includes(s)),
  ];
  const reported = SEVERITIES.filter((s) => !wanted.includes(s));
  if (fixed.length === 0) return 'fix nothing: report every finding without changing code';
  if (reported.length === 0) return `fix every confirmed finding (${list(fixed)})`;
  return `fix ${list(fixed)}; report ${list(reported)} without changing code`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The questions and the arguments of a built-in, from one set of values: the planned ones, overridden by the given ones. */
export interface PlannedArguments {
  args: Record<string, unknown>;
  questions: Question[];
}

function scopeQuestion(assessment: Assessment, files: unknown, given: boolean): Question {
  const n = Array.isArray(files) ? files.length : 0;
  const left = assessment.excluded.map((g) => g.label).join(', ');
  return {
    question: 'Which files are in scope?',
    assumed: given
      ? `the ${plural(n, 'file')} given in the arguments`
      : `the ${plural(n, 'source file')} tracked by git${left ? ` (left out: ${left}, and files that are not code)` : ' (files that are not code left out)'}`,
    arg: 'files',
    value: files,
  };
}

function roundsQuestion(rounds: unknown, migrate: boolean): Question {
  const n = Number(rounds);
  return {
    question: migrate ? 'How many rounds at most?' : 'How many fix rounds at most?',
    assumed: migrate
      ? `${plural(n, 'round')}: the first migrates${n > 1 ? ', each later one repairs what the reviewer found' : ''}; files still incomplete after that are reported, not fixed`
      : `${plural(n, 'round')}; what still fails after that is reported as confirmed, not fixed`,
    arg: 'rounds',
    value: rounds,
  };
}

/** The arguments a built-in is planned with, and the questions whose defaults they are. */
/** The arguments the built-ins take, each with the check its value must pass and what it must be. */
const ARGUMENT_TYPES: Record<string, [(v: unknown) => boolean, string]> = {
  fix: [
    (v) => Array.isArray(v) && v.every((s) => (SEVERITIES as readonly unknown[]).includes(s)),
    `a list of severities (${SEVERITIES.join(', ')}), e.g. ["high","critical"]`,
  ],
  rounds: [
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 10,
    'a whole number from 0 to 10',
  ],
  files: [
    (v) => Array.isArray(v) && v.length > 0 && v.every((f) => typeof f === 'string' && f.trim() !== ''),
    'a non-empty list of file paths, e.g. ["src/a.js"]',
  ],
  focus: [(v) => typeof v === 'string' && v.trim() !== '', 'a non-empty string'],
  known: [(v) => Array.isArray(v) && v.every((k) => typeof k === 'string'), 'a list of fingerprints'],
};

/**
 * Given arguments checked against what the built-ins take: a value of the wrong shape would make the
 * plan say one thing and the script do another, so it is refused, naming the argument and its type.
 */
export function checkGivenArguments(given: unknown): string | undefined {
  if (given === undefined) return undefined;
  if (given === null || typeof given !== 'object' || Array.isArray(given))
    return '--args must be a JSON object of named arguments, e.g. {"fix":["high","critical"]}';
  for (const [name, value] of Object.entries(given)) {
    const type = ARGUMENT_TYPES[name];
    if (type && !type[0](value))
      return `--args: \`${name}\` must be ${type[1]}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

export function plannedArguments(
  assessment: Assessment,
  request: PlanRequest,
  verdict: Verdict,
  given: Record<string, unknown> = {},
): PlannedArguments {
  const pick = (arg: string, planned: unknown) => (arg in given ? given[arg] : planned);
  const files = pick('files', assessment.sourceFiles);
  const rounds = pick('rounds', plannedRounds(verdict.decision));
  const scope =
    Array.isArray(files) && files.length > 0 ? [scopeQuestion(assessment, files, 'files' in given)] : [];
  const answer = (q: Question[], extra: Record<string, unknown> = {}): PlannedArguments => ({
    args: { ...given, ...extra, ...Object.fromEntries(q.filter((x) => x.arg).map((x) => [x.arg!, x.value])) },
    questions: q,
  });
  switch (request.kind) {
    case 'audit':
    case 'sweep':
    case 'bug-hunt': {
      const fix = pick('fix', DEFAULT_FIX[request.kind]);
      const severities: Question = {
        question: 'Which severities should be fixed?',
        assumed: describeFix(fix),
        arg: 'fix',
        value: fix,
      };
      const focus = pick('focus', BUG_FOCUS);
      const bug: Question[] =
        request.kind === 'bug-hunt'
          ? [{ question: 'What counts as a bug?', assumed: String(focus), arg: 'focus', value: focus }]
          : [];
      return answer([...scope, ...bug, severities, roundsQuestion(rounds, false)]);
    }
    case 'migrate': {
      const target = pick('target', request.target);
      const n = Array.isArray(files) ? files.length : 0;
      return answer([
        ...scope,
        {
          question: `What exactly does "${request.target}" mean here?`,
          assumed: `"${String(target)}" as written, for each of the ${plural(n, 'file')} in scope; behaviour stays the same, proven by the test suite`,
          arg: 'target',
          value: target,
        },
        roundsQuestion(rounds, true),
      ]);
    }
    case 'research':
      return answer(
        [
          ...scope,
          {
            question: 'What counts as an answer?',
            assumed:
              'claims backed by file and line evidence, each checked by a second agent; no code is changed',
          },
        ],
        { question: pick('question', request.question) },
      );
    case 'custom':
      return {
        args: {},
        questions: [
          ...scope,
          {
            question: 'May the workflow change code?',
            assumed: 'yes, on its own branch, with each change verified',
          },
        ],
      };
  }
}

/** When the test command cannot run, the one question that matters. */
export function oracleQuestion(assessment: Assessment): Question {
  return {
    question: `The test command \`${assessment.oracle?.command ?? ''}\` cannot run here (${assessment.baseline?.unusable ?? 'see the baseline'}). Which command runs the tests, or what must be installed first?`,
    assumed:
      'nothing runs until the tests can: fix the environment (or set oracle.command in the configuration) and ask again',
  };
}
