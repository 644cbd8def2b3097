/**
 * What a test command's output says: how many tests passed and failed and which failed (from the
 * output of the common runners: node --test, vitest, jest, pytest, go test, cargo test), and
 * whether the tests could run at all.
 */
export interface TestOutcome {
  passed?: number;
  failed?: number;
  /** Errors outside tests: collection errors, suites that did not load. */
  errors?: number;
  /** The first failing tests, by name. */
  failing: string[];
  /** Why the tests could not run, quoted from the output: a missing toolchain, module, script... */
  unusable?: string;
}

/** The causes of a test command that cannot run, each with the words the verdict names it by. */
const CANNOT_RUN: Array<[RegExp, string]> = [
  [
    /rustup could not choose a version of|no default toolchain|toolchain '[^']*' is not installed/i,
    'missing toolchain',
  ],
  [
    /command not found|: not found$|is not recognized as an internal or external command|spawn \S+ ENOENT/im,
    'missing command',
  ],
  [
    /ERROR collecting|errors? during collection|ImportError while importing test module/,
    'test collection errors',
  ],
  [
    /ModuleNotFoundError|No module named|Cannot find module|ERR_MODULE_NOT_FOUND|Cannot find package|no required module provides package|cannot find package/,
    'missing dependency',
  ],
  [/Missing script:|npm (ERR!|error) missing script/i, 'missing script'],
  [
    /\[setup failed\]|no Go files in|go: cannot find main module|could not find `Cargo\.toml`/,
    'broken setup',
  ],
  // pytest's exit 5 and its configuration errors (exit 4): nothing was judged.
  [/^(=+ )?no tests ran\b|^collected 0 items\b/m, 'no tests were collected'],
  [
    /^ERROR: .*(pyproject\.toml|pytest\.ini|setup\.cfg|tox\.ini|conftest\.py)|^ERROR: usage:|INTERNALERROR>/m,
    "the test runner's configuration is broken",
  ],
];

const MAX_NAMES = 5;

function sum(matches: Iterable<RegExpMatchArray>, group = 1): number | undefined {
  let total: number | undefined;
  for (const m of matches) if (m[group] !== undefined) total = (total ?? 0) + Number(m[group]);
  return total;
}

function unique(names: string[]): string[] {
  return [...new Set(names.map((n) => n.trim()).filter(Boolean))];
}

function counts(output: string): Pick<TestOutcome, 'passed' | 'failed' | 'errors'> {
  // node --test: TAP (`# pass 3`) or the spec reporter (`ℹ pass 3`).
  const nodePass = /^(?:#|ℹ) pass (\d+)$/m.exec(output);
  const nodeFail = /^(?:#|ℹ) fail (\d+)$/m.exec(output);
  if (nodePass && nodeFail) return { passed: Number(nodePass[1]), failed: Number(nodeFail[1]) };
  // vitest: `Tests  4 failed | 3 passed (7)`; jest: `Tests:       4 failed, 3 passed, 7 total`.
  const suite = /^\s*Tests:?\s+(.*\d+ (?:passed|failed).*)$/m.exec(output);
  if (suite) {
    const line = suite[1]!;
    return {
      passed: Number(/(\d+) passed/.exec(line)?.[1] ?? 0),
      failed: Number(/(\d+) failed/.exec(line)?.[1] ?? 0),
    };
  }
  // pytest: `==== 2 failed, 3 passed, 1 error in 0.12s ====` or `=== 2 errors in 0.3s ===`.
  const pytest = [
    ...output.matchAll(/^=+ (.*\d+ (?:passed|failed|errors?|skipped|deselected).* in [\d.]+s.*) =+$/gm),
  ].pop();
  if (pytest) {
    const line = pytest[1]!;
    return {
      passed: Number(/(\d+) passed/.exec(line)?.[1] ?? 0),
      failed: Number(/(\d+) failed/.exec(line)?.[1] ?? 0),
      ...(/(\d+) errors?/.test(line) ? { errors: Number(/(\d+) errors?/.exec(line)![1]) } : {}),
    };
  }
  // cargo test: one `test result:` line per test binary.
  const cargo = [...output.matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed/gm)];
  if (cargo.length > 0) return { passed: sum(cargo, 1) ?? 0, failed: sum(cargo, 2) ?? 0 };
  // go test: `--- PASS:` lines only with -v; without, packages `ok` and `FAIL`.
  const goFail = [...output.matchAll(/^\s*--- FAIL: /gm)].length;
  const goPass = [...output.matchAll(/^\s*--- PASS: /gm)].length;
  if (goFail + goPass > 0) return { passed: goPass, failed: goFail };
  return {};
}

function failingNames(output: string): string[] {
  const patterns = [
    /^not ok \d+ - (.+?)(?: # .*)?$/gm, // TAP, top level first
    /^\s+not ok \d+ - (.+?)(?: # .*)?$/gm, // TAP subtests
    /^✖ (.+?)(?: \([\d.]+m?s\))?$/gm, // node's spec reporter
    /^\s*(?:FAIL|×|✗)\s+(\S+\.[cm]?[jt]sx? > .+?)(?: \d+m?s)?$/gm, // vitest
    /^\s*● (.+? › .+)$/gm, // jest
    /^FAILED (\S+)/gm, // pytest's short summary
    /^ERROR (\S+)/gm, // pytest's collection errors
    /^\s*--- FAIL: (\S+)/gm, // go test
    /^test (\S+) \.\.\. FAILED$/gm, // cargo test
  ];
  for (const pattern of patterns) {
    const names = unique([...output.matchAll(pattern)].map((m) => m[1]!));
    if (names.length > 0) return names;
  }
  return [];
}

/** A line of output as a cause: without the rules runners draw around it. */
function quote(line: string): string {
  return line
    .replace(/^[\s_=!*-]+|[\s_=!*-]+$/g, '')
    .trim()
    .slice(0, 240);
}

function cannotRun(output: string, exitCode: number): string | undefined {
  const lines = output.split('\n');
  for (const [pattern, cause] of CANNOT_RUN) {
    const line = lines.find((l) => pattern.test(l));
    if (!line) continue;
    // Collection errors have a cause of their own, often a missing module: name it too.
    const missing =
      cause === 'test collection errors'
        ? lines.find((l) => /ModuleNotFoundError|No module named|ImportError:/.test(l))
        : undefined;
    return `${cause}: ${quote(line)}${missing ? `; ${quote(missing.replace(/^E\s+/, ''))}` : ''}`;
  }
  if (exitCode === 127) return 'missing command: the shell could not find the test command (exit 127)';
  if (exitCode === 126) return 'the test command is not executable (exit 126)';
  return undefined;
}

export function readTestOutput(output: string, exitCode: number): TestOutcome {
  const found = counts(output);
  const failing = failingNames(output);
  const outcome: TestOutcome = { ...found, failing };
  // A cause that stopped the run counts only when no test passed: a suite that ran is usable,
  // even where one of its tests could not import something.
  if (exitCode !== 0 && !(found.passed && found.passed > 0)) {
    const cause = cannotRun(output, exitCode);
    if (cause) outcome.unusable = cause;
  }
  return outcome;
}

/**
 * One line for the plan: the counts, or why the tests could not run, or (when the output has no
 * counts) its first error line. The failing names are in `outcome.failing`, shown beside it.
 */
export function summarizeOutcome(outcome: TestOutcome, output: string, exitCode: number): string {
  const parts: string[] = [];
  if (outcome.passed !== undefined || outcome.failed !== undefined) {
    parts.push(`${outcome.passed ?? 0} passed, ${outcome.failed ?? 0} failed`);
  }
  if (outcome.errors) parts.push(`${outcome.errors} error${outcome.errors === 1 ? '' : 's'}`);
  const text = parts.join(', ');
  if (outcome.unusable) return text ? `${outcome.unusable} (${text})` : outcome.unusable;
  if (text) return text;
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const last = lines.length > 0 ? `: ${lines[lines.length - 1]!.trim().slice(0, 200)}` : '';
  if (exitCode === 0) return `exit 0${last}`;
  const error = lines.find((l) => /\b(error|failed|failure|panic|exception)\b/i.test(l));
  return error
    ? `exit ${exitCode}, no test counts in the output; first error: ${error.trim().slice(0, 200)}`
    : `exit ${exitCode}, no test counts in the output${last}`;
}

/** The first failing names as the plan shows them. */
export function failingText(failing: string[]): string {
  const shown = failing.slice(0, MAX_NAMES);
  const more = failing.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
