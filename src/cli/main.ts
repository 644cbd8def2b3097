import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_AGENTS, MAX_CONCURRENCY, type RunSummary, runWorkflow } from '../engine/run.js';
import { savedWorkflows } from '../engine/saved-workflows.js';
import { MODEL_HELP, resolveModel } from '../models/resolve.js';
import { BUILTIN_DIR, createPlan, type Plan } from '../plan/plan.js';
import { PlanRequestError, parsePlanRequest } from '../plan/request.js';
import { renderPlan } from '../report/plan.js';
import { checkScript, formatDiagnostics, ScriptCheckError } from '../script/check.js';
import { demoIsolationArgs, prepareDemoRepository } from './demo.js';
import { formatTokens, formatUsd, ProgressView } from './progress.js';

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops a run early; the CLI binary wires it to Ctrl-C. */
  signal?: AbortSignal;
}

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `dwf: run dynamic workflows (multi-agent loops whose plan is code)

usage:
  dwf validate FILE            check a workflow script without running it
  dwf run FILE [options]       run a workflow script
  dwf run KIND [options]       plan a built-in workflow (audit, bug-hunt, sweep, migrate TARGET,
                               research QUESTION) for --repo, then run it
  dwf plan KIND|TEXT [options] assess the repository, decide, write the script and estimate it;
                               options: --repo --args --model --oracle --baseline --no-isolation
                               --concurrency --max-agents --budget-tokens --budget-usd --json
  dwf demo [options]           audit the bundled example API: agents find, verify and fix
                               its planted bugs, and its tests judge the fixes

run options:
  --args JSON                  arguments for the script (its \`args\` global)
  --model M                    ${MODEL_HELP} (default: sim)
  --concurrency N              agents at once, 1-${MAX_CONCURRENCY} (default ${MAX_CONCURRENCY})
  --max-agents N               agents per run, 1-${MAX_AGENTS} (default ${MAX_AGENTS})
  --budget-tokens N            hard ceiling on billed tokens (input, cache and output)
  --budget-usd X               hard ceiling in dollars (models with a known price)
  --runs-dir DIR               where run directories go (default .dwf/runs)
  --resume RUN_ID              replay that run's completed agents at no cost, run the rest live
  --repo DIR                   the repository agents work on, in a worktree on a new branch
                               dwf/RUN_ID; its .claude/workflows/ are what workflow() can use (default .)
  --oracle CMD                 the test command for oracle() and the agents' run_tests tool
  --oracle-timeout SECONDS     how long the test command may run (default 600)
  --allow-command CMD          a command line agents may run, as a prefix (repeatable)
  --no-isolation               run the test command and allowed commands unisolated, as this user
                               (default: isolated as another user in its own namespaces, or refused
                               where that cannot be set up: it needs root or passwordless sudo)
  --json                       print one JSON object with the outcome instead of a summary

exit status: 0 completed, 1 failed or stopped, 2 bad usage`;

class UsageError extends Error {}

function positive(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      `--${name} must be a ${integer ? 'whole number' : 'number'} greater than 0, got "${raw}"`,
    );
  }
  return value;
}

function readScript(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function validate(rest: string[], io: CliIo): number {
  if (rest.length !== 1) throw new UsageError('validate takes one FILE');
  const file = rest[0]!;
  const checked = checkScript(readScript(io, file));
  if (!checked.ok) {
    io.stdout.write(`${formatDiagnostics(file, checked.diagnostics)}\n`);
    return 1;
  }
  const phases = checked.meta.phases?.map((p) => p.title) ?? [];
  io.stdout.write(
    `${file}: valid workflow "${checked.meta.name}"` +
      (phases.length > 0 ? `, ${phases.length} phases: ${phases.join(', ')}` : ', no phases declared') +
      '\n',
  );
  return 0;
}

/** Options `run` and `plan` share. */
const SHARED_OPTIONS = {
  args: { type: 'string' },
  model: { type: 'string' },
  concurrency: { type: 'string' },
  'max-agents': { type: 'string' },
  'budget-tokens': { type: 'string' },
  'budget-usd': { type: 'string' },
  repo: { type: 'string' },
  oracle: { type: 'string' },
  'no-isolation': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function limitsFrom(values: {
  concurrency?: string;
  'max-agents'?: string;
  'budget-tokens'?: string;
  'budget-usd'?: string;
}) {
  const concurrency = positive('concurrency', values.concurrency, true);
  const maxAgents = positive('max-agents', values['max-agents'], true);
  if (concurrency !== undefined && concurrency > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency is at most ${MAX_CONCURRENCY}`);
  }
  if (maxAgents !== undefined && maxAgents > MAX_AGENTS)
    throw new UsageError(`--max-agents is at most ${MAX_AGENTS}`);
  return {
    concurrency,
    maxAgents,
    budgetTokens: positive('budget-tokens', values['budget-tokens'], true),
    budgetUsd: positive('budget-usd', values['budget-usd'], false),
  };
}

async function run(rest: string[], io: CliIo): Promise<{ code: number; summary?: RunSummary }> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      ...SHARED_OPTIONS,
      'runs-dir': { type: 'string' },
      resume: { type: 'string' },
      'oracle-timeout': { type: 'string' },
      'allow-command': { type: 'string', multiple: true },
    },
  });
  if (positionals.length !== 1) throw new UsageError('run takes one FILE');
  const file = positionals[0]!;
  let args = parseJsonArgs(values.args);
  const { concurrency, maxAgents, budgetTokens, budgetUsd } = limitsFrom(values);
  const modelSpec = values.model ?? 'sim';
  const provider = modelFrom(modelSpec, io);
  const repoDir = resolve(io.cwd, values.repo ?? '.');
  const oracleTimeout = positive('oracle-timeout', values['oracle-timeout'], false);
  let source: string;
  let oracleCommand = values.oracle;
  if (!existsSync(resolve(io.cwd, file)) && builtinRequest(file)) {
    // `dwf run audit`: plan it for this repository, then run exactly the planned script.
    const plan = await createPlan({
      repoDir,
      request: file,
      model: provider.modelFor(provider.defaultModel),
      ...(args !== undefined ? { args: args as Record<string, unknown> } : {}),
      ...(values.oracle ? { oracle: values.oracle } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      env: io.env,
    });
    if (!plan.script) {
      io.stderr.write(renderPlan(plan));
      return { code: 1 };
    }
    io.stderr.write(
      `planned ${file}: verdict ${plan.verdict.decision}, script sha256:${plan.scriptSha256}\n`,
    );
    source = plan.script;
    oracleCommand ??= plan.assessment.oracle?.command;
    args = undefined;
  } else {
    source = readScript(io, file);
  }
  const runsDir = resolve(io.cwd, values['runs-dir'] ?? '.dwf/runs');
  const progress = new ProgressView((text) => io.stderr.write(text), Boolean(io.stderr.isTTY));
  if (provider.id === 'sim' || provider.id.startsWith('fixture:')) {
    io.stderr.write(
      provider.id === 'sim'
        ? 'model: sim — simulated placeholder replies; no model was called and nothing is billed\n'
        : `model: ${provider.id} — replies replayed from a fixture file; no model was called\n`,
    );
  }

  let summary: RunSummary;
  try {
    summary = await runWorkflow({
      source,
      file,
      args,
      provider,
      runsDir,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      budgetTokens: budgetTokens ?? null,
      budgetUsd: budgetUsd ?? null,
      ...(values.resume !== undefined ? { resume: values.resume } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      workflows: savedWorkflows({ repoDir, builtinDir: BUILTIN_DIR }),
      env: io.env,
      isolation: values['no-isolation'] ? 'off' : 'required',
      workspace: {
        repoDir,
        allowedCommands: values['allow-command'] ?? [],
        ...(oracleCommand
          ? { oracle: { command: oracleCommand, timeoutSeconds: oracleTimeout ?? 600 } }
          : {}),
      },
      onEvent: (event) => progress.on(event),
    });
  } catch (error) {
    progress.close();
    if (error instanceof ScriptCheckError) {
      io.stderr.write(`${error.message}\n`);
      return { code: 1 };
    }
    if (error instanceof RangeError || /^no run "/.test((error as Error).message)) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  }
  progress.close();

  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({
        runId: summary.runId,
        status: summary.status,
        result: summary.result,
        ...(summary.error !== undefined ? { error: summary.error } : {}),
        runDir: summary.runDir,
        usage: summary.usage,
      })}\n`,
    );
  } else {
    const u = summary.usage;
    const tokens = u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
    io.stderr.write(
      `${summary.status}: ${u.agents} agents · ${formatTokens(tokens)} tokens ` +
        `(in ${formatTokens(u.inputTokens)}, out ${formatTokens(u.outputTokens)}, cache read ${formatTokens(u.cacheReadTokens)}, ` +
        `cache write ${formatTokens(u.cacheWriteTokens)}) · ${formatUsd(u.usd)}\n` +
        (summary.error ? `error: ${summary.error}\n` : '') +
        (summary.branch ? `changes and report on branch ${summary.branch} of ${repoDir}\n` : '') +
        `report: ${summary.reportPath}\n` +
        `run directory: ${summary.runDir}\n` +
        (summary.status !== 'completed' ? `resume with: dwf run ${file} --resume ${summary.runId}\n` : ''),
    );
    if (summary.status === 'completed') io.stdout.write(`${JSON.stringify(summary.result, null, 2)}\n`);
  }
  return { code: summary.status === 'completed' ? 0 : 1, summary };
}

async function demo(rest: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: { model: { type: 'string' }, 'runs-dir': { type: 'string' }, json: { type: 'boolean' } },
  });
  const shown = (path: string) => relative(io.cwd, path) || '.';
  const repo = await prepareDemoRepository(
    join(PACKAGE_ROOT, 'examples', 'api'),
    resolve(io.cwd, '.dwf', 'demo', 'example-api'),
  );
  io.stderr.write(
    `demo repository: ${shown(repo)} — a fresh copy of examples/api, a small web API with planted bugs and security holes\n`,
  );
  const outcome = await run(
    [
      'audit',
      '--repo',
      shown(repo),
      '--oracle',
      'node --test',
      '--model',
      values.model ?? `fixture:${shown(join(PACKAGE_ROOT, 'examples', 'workflows', 'audit.replies.json'))}`,
      ...(values['runs-dir'] ? ['--runs-dir', values['runs-dir']] : []),
      ...(values.json ? ['--json'] : []),
      ...(await demoIsolationArgs((text) => io.stderr.write(text))),
    ],
    io,
  );
  if (outcome.summary?.branch && !values.json) {
    io.stderr.write(`see the fixes: git -C ${shown(repo)} show --stat ${outcome.summary.branch}\n`);
  }
  return outcome.code;
}

/** True when the text names a built-in workflow (`audit`, `migrate X`, ...), not a request in words. */
function builtinRequest(text: string): boolean {
  try {
    return parsePlanRequest(text).kind !== 'custom';
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseJsonArgs(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`--args must be JSON: ${(error as Error).message}`);
  }
}

async function plan(rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: { ...SHARED_OPTIONS, baseline: { type: 'boolean' } },
  });
  if (positionals.length === 0) {
    throw new UsageError(
      'plan takes what to plan: audit, bug-hunt, sweep, migrate TARGET, research QUESTION, or a request in words',
    );
  }
  const request = positionals.join(' ');
  const args = parseJsonArgs(values.args) as Record<string, unknown> | undefined;
  const { concurrency, maxAgents, budgetTokens, budgetUsd } = limitsFrom(values);
  // The estimate is priced as the model the run will use; a request in words also needs it to write the script.
  let author: ReturnType<typeof resolveModel> | undefined;
  let model = 'claude-sonnet-5-5';
  if (values.model) {
    author = modelFrom(values.model, io);
    model = author.modelFor(author.defaultModel);
  }
  let result: Plan;
  try {
    result = await createPlan({
      repoDir: resolve(io.cwd, values.repo ?? '.'),
      request,
      model,
      ...(author ? { author } : {}),
      ...(args ? { args } : {}),
      ...(values.oracle ? { oracle: values.oracle } : {}),
      ...(values.baseline ? { baseline: true } : {}),
      isolation: values['no-isolation'] ? 'off' : 'required',
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      budget: { tokens: budgetTokens ?? null, usd: budgetUsd ?? null },
      env: io.env,
    });
  } catch (error) {
    if (error instanceof PlanRequestError) throw new UsageError(error.message);
    throw error;
  }
  if (values.json) {
    const e = result.estimate;
    io.stdout.write(
      `${JSON.stringify({
        assessment: result.assessment,
        verdict: result.verdict,
        questions: result.questions,
        script: result.script,
        scriptSha256: result.scriptSha256,
        estimate: e && {
          agents: e.agents,
          inputTokens: e.inputTokens,
          outputTokens: e.outputTokens,
          usd: e.usd,
          wallSeconds: e.wallSeconds,
          model: e.model,
          problems: e.problems,
          ...(e.overBudget ? { overBudget: e.overBudget } : {}),
        },
        ...(result.authoring ? { authoring: result.authoring } : {}),
      })}\n`,
    );
  } else {
    const what = request.includes(' ') ? JSON.stringify(request) : request;
    const howToRun = `To run it: \`dwf run ${what}${values.repo ? ` --repo ${values.repo}` : ''} --model anthropic:${model}\``;
    io.stdout.write(renderPlan(result, result.script ? { howToRun } : {}));
  }
  return result.verdict.decision === 'stop' ? 1 : 0;
}

function modelFrom(spec: string, io: CliIo): ReturnType<typeof resolveModel> {
  try {
    return resolveModel(spec.startsWith('fixture:') ? `fixture:${resolve(io.cwd, spec.slice(8))}` : spec, {
      env: io.env,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The `dwf` command. Returns the exit status; never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return validate(rest, io);
      case 'run':
        return (await run(rest, io)).code;
      case 'demo':
        return await demo(rest, io);
      case 'plan':
        return await plan(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`dwf: ${(error as Error).message}\n`);
    if (usage) {
      io.stderr.write("run 'dwf help' for usage\n");
      return 2;
    }
    return 1;
  }
}
