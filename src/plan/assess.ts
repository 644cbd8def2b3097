import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import picomatch from 'picomatch';
import { trackedFiles } from '../agents/git.js';
import {
  createRepoCodeRunner,
  type IsolationMode,
  IsolationRefusedError,
  type RepoCodeRunner,
} from '../agents/isolation.js';
import { Redactor } from '../agents/secrets.js';
import { readTestOutput, summarizeOutcome } from '../agents/test-output.js';
import {
  type ExcludedGroup,
  excludedGroups,
  linguistAttributes,
  type ScopeGroup,
  scopeGroup,
} from './scope.js';

export interface OracleChoice {
  command: string;
  /** Where it came from, e.g. `package.json scripts.test`, `config`. */
  source: string;
}

export interface Baseline {
  passed: boolean;
  exitCode: number;
  /** The counts (`3 passed, 4 failed`), or why the tests could not run, or the output's first error. */
  summary: string;
  durationMs: number;
  /** The first failing tests, by name, as the runner's output gives them. */
  failing?: string[];
  /**
   * Why the test command could not run at all (a missing toolchain, command, dependency or script,
   * collection errors), quoted from its output: the oracle is unusable, not the tests failing.
   */
  unusable?: string;
}

export interface Assessment {
  /** Files tracked by git, after the scope globs. */
  files: number;
  lines: number;
  languages: Array<{ language: string; files: number; lines: number }>;
  /** Source files in scope: what a fan-out goes over (no tests, docs, benchmarks, CI, generated or vendored code, data). */
  sourceFiles: string[];
  /** The groups left out by the conventions of each ecosystem and `.gitattributes`, with counts. */
  excluded: ExcludedGroup[];
  /** Roughly what reading every source file once costs, in tokens. */
  sourceTokens: number;
  testFiles: number;
  oracle: OracleChoice | null;
  baseline?: Baseline;
}

export interface AssessOptions {
  include?: string[];
  exclude?: string[];
  /** A test command from configuration wins over detection. */
  oracle?: string;
  /** Run the oracle once to see where the tests stand. */
  baseline?: boolean;
  baselineTimeoutSeconds?: number;
  /** Where secret-looking variables are found, to redact from the baseline's output. */
  env?: NodeJS.ProcessEnv;
  /** Secret values to redact from the baseline's output. */
  secrets?: string[];
  /** Runs the baseline; default: one made from `isolation` (isolated, or refused). */
  runner?: RepoCodeRunner;
  isolation?: IsolationMode;
}

const LANGUAGES: Record<string, string> = {
  '.js': 'JavaScript',
  '.mjs': 'JavaScript',
  '.cjs': 'JavaScript',
  '.jsx': 'JavaScript',
  '.ts': 'TypeScript',
  '.tsx': 'TypeScript',
  '.mts': 'TypeScript',
  '.py': 'Python',
  '.go': 'Go',
  '.rs': 'Rust',
  '.java': 'Java',
  '.kt': 'Kotlin',
  '.rb': 'Ruby',
  '.php': 'PHP',
  '.cs': 'C#',
  '.c': 'C',
  '.h': 'C',
  '.cc': 'C++',
  '.cpp': 'C++',
  '.hpp': 'C++',
  '.swift': 'Swift',
  '.scala': 'Scala',
  '.sh': 'Shell',
  '.sql': 'SQL',
  '.html': 'HTML',
  '.css': 'CSS',
  '.md': 'Markdown',
  '.json': 'JSON',
  '.yml': 'YAML',
  '.yaml': 'YAML',
  '.toml': 'TOML',
};

const NOT_SOURCE = new Set(['Markdown', 'JSON', 'YAML', 'TOML', 'HTML', 'CSS']);
const NPM_DEFAULT_TEST = /no test specified/;

function readText(path: string): string | undefined {
  try {
    if (statSync(path).size > 2 * 1024 * 1024) return undefined;
    const buffer = readFileSync(path);
    return buffer.subarray(0, 8000).includes(0) ? undefined : buffer.toString('utf8');
  } catch {
    return undefined;
  }
}

/** The test command a maintainer would type, from the repository's own conventions. */
export function detectOracle(repoDir: string, files: string[]): OracleChoice | null {
  const has = (name: string) => files.includes(name);
  const text = (name: string) => (has(name) ? (readText(join(repoDir, name)) ?? '') : '');
  const anyTest = (pattern: RegExp) => files.some((f) => pattern.test(f));

  const makefile = ['Makefile', 'makefile', 'GNUmakefile'].find(has);
  if (makefile && /^test\s*:/m.test(text(makefile)))
    return { command: 'make test', source: `${makefile} test target` };

  if (has('package.json')) {
    let scripts: Record<string, string> = {};
    try {
      scripts = (JSON.parse(text('package.json')) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch {
      scripts = {};
    }
    if (scripts.test && !NPM_DEFAULT_TEST.test(scripts.test)) {
      const runner = has('pnpm-lock.yaml')
        ? 'pnpm'
        : has('yarn.lock')
          ? 'yarn'
          : has('bun.lockb') || has('bun.lock')
            ? 'bun'
            : 'npm';
      return { command: `${runner} test`, source: 'package.json scripts.test' };
    }
  }

  const pythonTests = anyTest(/(^|\/)test_[^/]*\.py$|_test\.py$|(^|\/)tests?\/.*\.py$/);
  const pytestConfig =
    has('pytest.ini') ||
    has('conftest.py') ||
    /\[tool\.pytest/.test(text('pyproject.toml')) ||
    /\[tool:pytest\]/.test(text('setup.cfg')) ||
    /\[pytest\]/.test(text('tox.ini'));
  if (
    pytestConfig ||
    (pythonTests && (has('pyproject.toml') || has('setup.py') || has('setup.cfg') || has('requirements.txt')))
  ) {
    return { command: 'pytest', source: pytestConfig ? 'pytest configuration' : 'Python test files' };
  }

  if (has('go.mod') && anyTest(/_test\.go$/))
    return { command: 'go test ./...', source: 'go.mod and _test.go files' };

  if (has('Cargo.toml')) {
    const rustTests =
      anyTest(/(^|\/)tests\/.*\.rs$/) ||
      files.some(
        (f) => f.endsWith('.rs') && /#\[(cfg\(test\)|test)\]/.test(readText(join(repoDir, f)) ?? ''),
      );
    if (rustTests) return { command: 'cargo test', source: 'Cargo.toml and #[test] functions' };
  }

  if (has('pom.xml') && anyTest(/src\/test\//)) return { command: 'mvn test', source: 'pom.xml' };
  const gradle = ['build.gradle', 'build.gradle.kts'].find(has);
  if (gradle && anyTest(/src\/test\//)) {
    return { command: has('gradlew') ? './gradlew test' : 'gradle test', source: gradle };
  }
  return null;
}

/**
 * What the repository is: its tracked files in scope, languages by files and lines, the source
 * files a fan-out would go over, and the test oracle (with a baseline run when asked).
 */
export async function assessRepository(repoDir: string, options: AssessOptions = {}): Promise<Assessment> {
  const tracked = await trackedFiles(repoDir);
  const include = options.include?.length ? picomatch(options.include, { dot: true }) : () => true;
  const exclude = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : () => false;
  const files = tracked.filter((f) => include(f) && !exclude(f));

  const attributes = await linguistAttributes(repoDir, files, (f) => readText(join(repoDir, f)));
  const groups = new Map<string, ScopeGroup>();
  const byLanguage = new Map<string, { files: number; lines: number }>();
  let lines = 0;
  const sourceFiles: string[] = [];
  let sourceTokens = 0;
  for (const file of files) {
    const content = readText(join(repoDir, file));
    const count = content === undefined ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
    lines += count;
    const group = scopeGroup(file, attributes.get(file));
    if (group) groups.set(file, group);
    const language = LANGUAGES[extname(file).toLowerCase()];
    if (!language) continue;
    const entry = byLanguage.get(language) ?? { files: 0, lines: 0 };
    entry.files++;
    entry.lines += count;
    byLanguage.set(language, entry);
    if (!group && !NOT_SOURCE.has(language) && content !== undefined) {
      sourceFiles.push(file);
      sourceTokens += Math.ceil(content.length / 4);
    }
  }
  const excluded = excludedGroups(groups);
  const testFiles = excluded.find((g) => g.group === 'tests')?.files ?? 0;
  const languages = [...byLanguage]
    .map(([language, v]) => ({ language, ...v }))
    .sort((a, b) => b.lines - a.lines || a.language.localeCompare(b.language));

  const oracle = options.oracle
    ? { command: options.oracle, source: 'config' }
    : detectOracle(
        repoDir,
        tracked.filter((f) => existsSync(join(repoDir, f))),
      );
  const assessment: Assessment = {
    files: files.length,
    lines,
    languages,
    sourceFiles,
    excluded,
    sourceTokens,
    testFiles,
    oracle,
  };
  if (options.baseline && oracle) assessment.baseline = await runBaseline(repoDir, oracle.command, options);
  return assessment;
}

/** The test command run once on the checkout, the way every piece of repository code runs: isolated or refused. */
async function runBaseline(repoDir: string, command: string, options: AssessOptions): Promise<Baseline> {
  const runner =
    options.runner ??
    (await createRepoCodeRunner({ isolation: options.isolation ?? 'required', repoDir, hide: [repoDir] }));
  try {
    const result = await runner.run(
      { shell: command },
      { cwd: repoDir, timeoutMs: (options.baselineTimeoutSeconds ?? 600) * 1000, maxOutputBytes: 64 * 1024 },
    );
    const output = new Redactor(options.secrets ?? [], options.env ?? process.env).redact(result.output);
    const outcome = readTestOutput(output, result.exitCode);
    return {
      passed: result.exitCode === 0,
      exitCode: result.exitCode,
      summary: summarizeOutcome(outcome, output, result.exitCode),
      durationMs: result.durationMs,
      ...(outcome.failing.length > 0 ? { failing: outcome.failing.slice(0, 20) } : {}),
      ...(outcome.unusable ? { unusable: outcome.unusable } : {}),
    };
  } catch (error) {
    // Said plainly in the plan, not hidden: the baseline was not run, and why.
    if (!(error instanceof IsolationRefusedError)) throw error;
    return { passed: false, exitCode: -1, summary: `not run: ${error.message}`, durationMs: 0 };
  }
}
