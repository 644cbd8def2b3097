import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type FinishedRun, planAndRun, runScript } from '../flows/run.js';
import type { RunSettings } from '../flows/settings.js';
import type { ModelProvider } from '../models/types.js';
import { PlanRequestError } from '../plan/request.js';
import { failureList } from '../report/failures.js';
import { renderPlan } from '../report/plan.js';
import { ScriptCheckError } from '../script/check.js';
import {
  builtinRequest,
  type CliIo,
  checkRepo,
  cliSettings,
  modelFrom,
  parseFlags,
  parseJsonArgs,
  readScript,
  SHARED_OPTIONS,
  shellWord,
  UsageError,
} from './options.js';
import { formatTokens, formatUsd, ProgressView, plural } from './progress.js';

const RUN_OPTIONS = {
  ...SHARED_OPTIONS,
  'runs-dir': { type: 'string' },
  resume: { type: 'string' },
  'oracle-timeout': { type: 'string' },
  'allow-command': { type: 'string', multiple: true },
} as const;

/** Says so when no model is called: the sim's placeholders and a fixture's replies cost nothing. */
function modelNotice(provider: ModelProvider): string {
  if (provider.id === 'sim')
    return 'model: sim — simulated placeholder replies; no model was called and nothing is billed\n';
  if (provider.id.startsWith('fixture:'))
    return `model: ${provider.id} — replies replayed from a fixture file; no model was called\n`;
  return '';
}

/** `dwf run FILE` runs the script; `dwf run KIND` plans it for the repository, then runs exactly the planned script. */
export async function run(rest: string[], io: CliIo): Promise<{ code: number; summary?: FinishedRun }> {
  const { values, positionals } = parseFlags('run', rest, RUN_OPTIONS);
  if (positionals.length !== 1)
    throw new UsageError('run takes one FILE (or a built-in workflow: audit, bug-hunt, ...)');
  const file = positionals[0]!;
  const args = parseJsonArgs(values.args);
  const settings = cliSettings(io, values, modelFrom(values.model ?? 'sim', io));
  const planned = !existsSync(resolve(io.cwd, file)) && builtinRequest(file);
  const source = planned ? undefined : readScript(io, file);
  await checkRepo(settings.repoDir, values.repo, source === undefined);
  // With --json, stdout carries one object and stderr only what went wrong.
  const progress = new ProgressView((text) => {
    if (!values.json) io.stderr.write(text);
  }, Boolean(io.stderr.isTTY) && !values.json);
  const script = {
    ...(values.resume !== undefined ? { resume: values.resume } : {}),
    onEvent: progress.on.bind(progress),
  };
  let summary: FinishedRun | undefined;
  try {
    if (!values.json) io.stderr.write(modelNotice(settings.provider));
    if (source === undefined) {
      const outcome = await planAndRun(
        settings,
        {
          request: file,
          ...(args !== undefined ? { args: args as Record<string, unknown> } : {}),
          onPlanned: (plan) => {
            if (!plan.script) io.stderr.write(renderPlan(plan));
            else if (!values.json)
              io.stderr.write(
                `planned ${file}: verdict ${plan.verdict.decision}, script sha256:${plan.scriptSha256}\n`,
              );
          },
        },
        script,
      );
      summary = outcome.summary;
    } else {
      summary = await runScript(settings, {
        source,
        file,
        args,
        ...script,
      });
    }
  } catch (error) {
    if (error instanceof ScriptCheckError) {
      io.stderr.write(`${error.message}\n`);
      return { code: 1 };
    }
    if (
      error instanceof RangeError ||
      error instanceof PlanRequestError ||
      /^no run "/.test((error as Error).message)
    ) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  } finally {
    progress.close();
  }
  if (!summary) return { code: 1 };
  if (values.json) io.stdout.write(jsonOutcome(summary));
  else writeSummary(io, summary, settings, rest);
  return { code: summary.status === 'completed' ? 0 : 1, summary };
}

function jsonOutcome(summary: FinishedRun): string {
  return `${JSON.stringify({
    runId: summary.runId,
    status: summary.status,
    result: summary.result,
    ...(summary.error !== undefined ? { error: summary.error } : {}),
    runDir: summary.runDir,
    usage: summary.usage,
    replayedAgents: summary.replayedAgents,
    ...(summary.warnings ? { warnings: summary.warnings } : {}),
    failedAgents: summary.failedAgents,
    failures: summary.failures,
    ...(summary.resumedFrom !== undefined ? { resumedFrom: summary.resumedFrom } : {}),
    ...(summary.branch ? { branch: summary.branch } : {}),
    reportPath: summary.reportPath,
  })}\n`;
}

/** The end of a run in a terminal: the totals, where things are, and how to resume; the result on stdout. */
/**
 * The command that resumes this run: the same command line (its --repo, --runs-dir, --model and
 * the rest), with --resume naming this run.
 */
export function resumeCommand(argv: readonly string[], runId: string): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--resume') i++;
    else if (!argv[i]!.startsWith('--resume=') && argv[i] !== '--json') kept.push(argv[i]!);
  }
  return ['dwf', 'run', ...kept, '--resume', runId].map(shellWord).join(' ');
}

function writeSummary(io: CliIo, summary: FinishedRun, settings: RunSettings, argv: readonly string[]): void {
  const u = summary.usage;
  const tokens = u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  const replayed =
    summary.replayedAgents > 0
      ? ` (+ ${plural(summary.replayedAgents, 'agent')} replayed from ${summary.resumedFrom ?? 'a journal'} at no cost)`
      : '';
  const failed =
    summary.failedAgents > 0 ? `, ${summary.failedAgents} failed (${failureList(summary.failures)})` : '';
  io.stderr.write(
    `${summary.status}: ${plural(u.agents, 'agent')}${failed}${replayed} · ${formatTokens(tokens)} tokens ` +
      `(in ${formatTokens(u.inputTokens)}, out ${formatTokens(u.outputTokens)}, cache read ${formatTokens(u.cacheReadTokens)}, ` +
      `cache write ${formatTokens(u.cacheWriteTokens)}) · ${formatUsd(u.usd)}\n` +
      (summary.error ? `error: ${summary.error}\n` : '') +
      (summary.warnings ?? []).map((w) => `warning: ${w}\n`).join('') +
      (summary.branch ? `changes on branch ${summary.branch} of ${settings.repoDir}\n` : '') +
      `report: ${summary.reportPath}\n` +
      `run directory: ${summary.runDir}\n` +
      (summary.status !== 'completed' ? `resume with: ${resumeCommand(argv, summary.runId)}\n` : ''),
  );
  if (summary.status === 'completed') io.stdout.write(`${JSON.stringify(summary.result, null, 2)}\n`);
}
