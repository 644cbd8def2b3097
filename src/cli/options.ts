import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { runGit } from '../agents/git.js';
import { MAX_AGENTS, MAX_CONCURRENCY } from '../engine/run.js';
import { runSettings, type SettingsLayer } from '../flows/settings.js';
import { resolveModel } from '../models/resolve.js';
import type { ModelProvider } from '../models/types.js';
import { parsePlanRequest } from '../plan/request.js';
import { MAX_SHARDS } from '../plan/shards.js';

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
  'max-shards'?: string | undefined;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with the CLI's own errors: an unknown option is named with the command's options, and
 * a negative number after an option is taken as its value (and then refused by its check), not as
 * an option of its own.
 */
export function parseFlags<O extends Options>(command: string, args: string[], options: O) {
  const argv: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([a-z-]+)$/.exec(args[i]!)?.[1];
    const next = args[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      argv.push(`--${name}=${next}`);
      i++;
    } else argv.push(args[i]!);
  }
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'([^']+)'/.exec((error as Error).message)?.[1] ?? 'an option';
      const known = Object.keys(options)
        .map((o) => `--${o}`)
        .join(' ');
      throw new UsageError(`dwf ${command} has no option ${name}; its options are ${known}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--[a-z-]+)/.exec((error as Error).message)?.[1] ?? 'an option';
      throw new UsageError(`${name} needs a value`);
    }
    throw new UsageError((error as Error).message);
  }
}

/**
 * The repository directory, checked: it exists, and for planning it is in a git working tree (a
 * script given as a file may run outside git: its agents then edit the directory in place).
 */
export async function checkRepo(
  repoDir: string,
  given: string | undefined,
  needsGit: boolean,
): Promise<void> {
  const named = given === undefined ? 'this directory' : `--repo ${given}`;
  let directory = false;
  try {
    directory = statSync(repoDir).isDirectory();
  } catch {}
  if (!directory) throw new UsageError(`${named}: no such directory`);
  if (!needsGit) return;
  const inside = await runGit(['rev-parse', '--is-inside-work-tree'], { cwd: repoDir }).catch(() => '');
  if (inside.trim() !== 'true') {
    throw new UsageError(
      `${named} is not a git repository: dwf works on a repository's committed files ` +
        `(run \`git init && git add -A && git commit -m init\` there, or point --repo at a clone)`,
    );
  }
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
  const maxShards = positive('max-shards', values['max-shards'], true);
  if (maxShards !== undefined && maxShards > MAX_SHARDS)
    throw new UsageError(`--max-shards is at most ${MAX_SHARDS} (the jobs a matrix may run)`);
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
    maxShards,
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

/** A word as a POSIX shell reads it back: quoted when it holds anything but safe characters. */
export const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
