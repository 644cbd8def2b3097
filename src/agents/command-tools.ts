import { isAllowed, splitCommand, summarizeTestOutput } from './commands.js';
import { ToolRefusal } from './confine.js';
import {
  fence,
  MAX_OUTPUT_BYTES,
  type OracleConfig,
  type ToolEnvironment,
  type ToolOutcome,
  text,
} from './tool-common.js';

/** The tools that run repository code: an allowed command, the test command (the oracle). */

export async function runCommand(env: ToolEnvironment, input: unknown): Promise<ToolOutcome> {
  const line = text(input, 'command')!;
  const words = splitCommand(line);
  if (!words) throw new ToolRefusal('shell syntax is not allowed: give one command with its arguments');
  if (!isAllowed(words, env.allowedCommands)) {
    throw new ToolRefusal(
      `refused: "${line}" is not an allowed command (allowed: ${env.allowedCommands.join('; ') || 'none'})`,
    );
  }
  // In the same isolation as the tests: arguments such as `--output=/elsewhere` or
  // `--no-index /dev/null /elsewhere` reach only the sandbox's throwaway view.
  const result = await env.runner.run(
    { argv: words },
    { cwd: env.root, timeoutMs: env.commandTimeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES, signal: env.signal },
  );
  env.onCommand({ command: line, exitCode: result.exitCode, durationMs: result.durationMs, source: 'agent' });
  return {
    content: fence(
      'command-output',
      { command: line, exit: result.exitCode },
      env.redactor.redact(result.output),
    ),
    isError: result.exitCode !== 0,
  };
}

export interface OracleResult {
  passed: boolean;
  exitCode: number;
  summary: string;
  durationMs: number;
  output: string;
}

/** Runs the configured test command: the objective oracle, judged by its exit code. */
export async function runOracle(
  oracle: OracleConfig,
  env: Pick<ToolEnvironment, 'runner' | 'redactor' | 'signal' | 'onCommand'>,
  cwd: string,
): Promise<OracleResult> {
  const ran = await env.runner.run(
    { shell: oracle.command },
    { cwd, timeoutMs: oracle.timeoutSeconds * 1000, maxOutputBytes: MAX_OUTPUT_BYTES, signal: env.signal },
  );
  const result = { ...ran, output: env.redactor.redact(ran.output) };
  env.onCommand({
    command: oracle.command,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    source: 'oracle',
  });
  return {
    passed: result.exitCode === 0,
    exitCode: result.exitCode,
    summary: summarizeTestOutput(result.output, result.exitCode),
    durationMs: result.durationMs,
    output: result.output,
  };
}

export async function runTests(env: ToolEnvironment): Promise<ToolOutcome> {
  if (!env.oracle) throw new ToolRefusal('no test command is configured for this run');
  const result = await runOracle(env.oracle, env, env.root);
  return {
    content: fence(
      'command-output',
      { command: env.oracle.command, exit: result.exitCode, summary: result.summary },
      result.output,
    ),
    isError: !result.passed,
  };
}
