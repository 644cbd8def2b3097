import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_AGENTS, MAX_CONCURRENCY } from '../engine/run.js';
import { runSettings, type SettingsLayer } from '../flows/settings.js';
import { resolveModel } from '../models/resolve.js';
import type { ModelProvider } from '../models/types.js';
import { parsePlanRequest } from '../plan/request.js';

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops a run early; the CLI binary wires it to Ctrl-C. */
  signal?: AbortSignal;
}

/** Bad usage: printed with a pointer to `dwf help`, exit status 2. */
export class UsageError extends Error {}

/** Options `run` and `plan` share. */
export const SHARED_OPTIONS = {
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

/** The values of the shared options, and of `run`'s own settings, as parseArgs gives them. */
export interface SettingsFlags {
  concurrency?: string | undefined;
  'max-agents'?: string | undefined;
  'budget-tokens'?: string | undefined;
  'budget-usd'?: string | undefined;
  oracle?: string | undefined;
  'oracle-timeout'?: string | undefined;
  'allow-command'?: string[] | undefined;
  'no-isolation'?: boolean | undefined;
}

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

/** The flags as a settings layer: the CLI reads no configuration file, so the flags are the only layer. */
export function flagsLayer(values: SettingsFlags): SettingsLayer {
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
    budget: {
      tokens: positive('budget-tokens', values['budget-tokens'], true),
      usd: positive('budget-usd', values['budget-usd'], false),
    },
    oracle: {
      command: values.oracle,
      timeoutSeconds: positive('oracle-timeout', values['oracle-timeout'], false),
    },
    allowedCommands: values['allow-command'],
    isolation: values['no-isolation'] ? 'off' : 'required',
  };
}

/** The settings of one `dwf` command: where (`--repo`, `--runs-dir`), with what model, and the flags. */
export function cliSettings(
  io: CliIo,
  values: SettingsFlags & { repo?: string | undefined; 'runs-dir'?: string | undefined },
  provider: ModelProvider,
) {
  return runSettings(
    {
      repoDir: resolve(io.cwd, values.repo ?? '.'),
      runsDir: resolve(io.cwd, values['runs-dir'] ?? '.dwf/runs'),
      provider,
      env: io.env,
      ...(io.signal ? { signal: io.signal } : {}),
    },
    flagsLayer(values),
  );
}

export function readScript(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** True when the text names a built-in workflow (`audit`, `migrate X`, ...), not a request in words. */
export function builtinRequest(text: string): boolean {
  try {
    return parsePlanRequest(text).kind !== 'custom';
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseJsonArgs(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`--args must be JSON: ${(error as Error).message}`);
  }
}

/** The model a `--model` names; a fixture's path is read from the working directory. */
export function modelFrom(spec: string, io: CliIo): ModelProvider {
  try {
    return resolveModel(spec.startsWith('fixture:') ? `fixture:${resolve(io.cwd, spec.slice(8))}` : spec, {
      env: io.env,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
