import { spawn } from 'node:child_process';
import { readTestOutput, summarizeOutcome } from './test-output.js';

export interface CommandResult {
  exitCode: number;
  /** Combined stdout and stderr, the tail kept when it is too long (not yet redacted: callers redact). */
  output: string;
  timedOut: boolean;
  durationMs: number;
}

export interface CommandOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  /**
   * Stop with SIGTERM first and SIGKILL two seconds later, for a process tree this user may only
   * signal through a relay (sudo relays SIGTERM to what it runs; it cannot relay SIGKILL).
   */
  gentleStop?: boolean;
}

/**
 * Runs a program without a shell (argv[0] and its arguments) or, for the configured oracle only,
 * through `sh -c`. Output is capped (the tail is kept: test runners summarise at the end).
 */
export function runProcess(
  command: { argv: string[] } | { shell: string },
  options: CommandOptions,
): Promise<CommandResult> {
  const started = performance.now();
  const [file, args] =
    'argv' in command ? [command.argv[0]!, command.argv.slice(1)] : ['/bin/sh', ['-c', command.shell]];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let dropped = 0;
    const keep = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      while (size > options.maxOutputBytes && chunks.length > 1) {
        const first = chunks.shift()!;
        size -= first.length;
        dropped += first.length;
      }
    };
    let timedOut = false;
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let exited = false;
    const signalGroup = (signal: NodeJS.Signals) => {
      if (exited) return;
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const killGroup = () => {
      if (!options.gentleStop) return signalGroup('SIGKILL');
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), 2000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => killGroup();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const finish = (exitCode: number, extra = '') => {
      exited = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      let output = Buffer.concat(chunks).toString('utf8');
      if (output.length > options.maxOutputBytes || dropped > 0) {
        output = output.slice(-options.maxOutputBytes);
        // The tail starts at a whole line: a secret cut at the start would pass the redactor as a
        // fragment it cannot recognise.
        const newline = output.indexOf('\n');
        if (newline !== -1) {
          dropped += Buffer.byteLength(output.slice(0, newline + 1));
          output = output.slice(newline + 1);
        }
      }
      if (dropped > 0) output = `[${dropped} bytes of earlier output dropped]\n${output}`;
      if (timedOut) output += `\n[stopped after ${options.timeoutMs} ms]`;
      resolve({
        exitCode,
        output: output + extra,
        timedOut,
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (error) => finish(127, `${error.message}\n`));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + 9 : 1)));
    // An abort that came before the spawn still stops it.
    if (options.signal?.aborted) killGroup();
  });
}

/** Splits a command line into words; shell syntax (pipes, redirects, substitutions) is refused. */
export function splitCommand(line: string): string[] | undefined {
  if (/[|&;<>()$`\\\n*?{}[\]!~]/.test(line.replace(/'[^']*'|"[^"$`\\]*"/g, ''))) return undefined;
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = pattern.exec(line); m; m = pattern.exec(line)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words.length > 0 ? words : undefined;
}

/** True when the words start with one of the allowed command lines, word for word. */
export function isAllowed(words: string[], allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    const prefix = splitCommand(entry);
    return prefix !== undefined && prefix.length <= words.length && prefix.every((w, i) => w === words[i]);
  });
}

/**
 * A one-line summary of a test run, as the oracle and the plan's baseline both read it: counts
 * where the runner prints them, why the tests could not run, or the first error line.
 */
export function summarizeTestOutput(output: string, exitCode: number): string {
  return summarizeOutcome(readTestOutput(output, exitCode), output, exitCode);
}
