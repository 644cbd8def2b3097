import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redactor } from './secrets.js';

/**
 * Every git command the product runs goes through here, so none of them runs repository code:
 * hooks point at an empty directory, fsmonitor is off, no system or global configuration is read
 * (no credential helpers, pagers, aliases or filters from the machine), and the environment holds
 * nothing but PATH and what git needs. A token, when one command needs it, is given to that
 * command alone through the environment (never argv, which any process may read).
 */
export interface GitOptions {
  cwd: string;
  /** Extra configuration for this command only, e.g. an identity or an auth header. */
  config?: Array<[key: string, value: string]>;
  maxBuffer?: number;
}

let emptyDir: string | undefined;

/** An empty directory of this process: the hooks path and HOME of every git command; removed at exit. */
function empty(): string {
  if (emptyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'dwf-git-empty-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    emptyDir = dir;
  }
  return emptyDir;
}

/** The environment of one git command: an allow-list, plus configuration given as GIT_CONFIG_* pairs. */
export function gitEnv(config: Array<[string, string]> = []): Record<string, string> {
  const pairs: Array<[string, string]> = [
    ['core.hooksPath', empty()],
    ['core.fsmonitor', 'false'],
    ...config,
  ];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: empty(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: String(pairs.length),
  };
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** Runs `git ARGS` in `cwd` and resolves to its stdout; a failure rejects with git's own message. */
export function runGit(args: string[], options: GitOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        cwd: options.cwd,
        env: gitEnv(options.config),
        maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = typeof error.code === 'number' ? error.code : null;
        reject(
          new GitError(
            `git ${args[0] ?? ''} failed${code !== null ? ` (exit ${code})` : ''}: ${stderr.trim() || error.message}`,
            code,
            stderr,
          ),
        );
      },
    );
  });
}

/** The identity of the product's own commits. */
export const IDENTITY: Array<[string, string]> = [
  ['user.name', 'Dynamic Workflows'],
  ['user.email', 'dynamic-workflows@users.noreply.github.com'],
];

/**
 * Pushes a branch to `origin` with a token: the auth header reaches this one git process through
 * its environment, after an empty value that drops any header a checkout left in the repository's
 * configuration (actions/checkout persists one).
 */
export async function pushBranch(options: {
  cwd: string;
  serverUrl: string;
  token: string;
  branch: string;
}): Promise<void> {
  const basic = Buffer.from(`x-access-token:${options.token}`).toString('base64');
  const key = `http.${options.serverUrl.replace(/\/+$/, '')}/.extraheader`;
  try {
    await runGit(
      ['push', '--no-verify', 'origin', `refs/heads/${options.branch}:refs/heads/${options.branch}`],
      {
        cwd: options.cwd,
        config: [
          [key, ''],
          [key, `AUTHORIZATION: basic ${basic}`],
        ],
      },
    );
  } catch (error) {
    // git's message can quote the header it sent; the token never leaves in an error.
    const message = new Redactor([basic, options.token]).redact((error as Error).message);
    throw new GitError(message, (error as GitError).exitCode ?? null, '');
  }
}

/** Files git tracks in a working tree, relative to its root; throws outside a git repository. */
export async function trackedFiles(cwd: string): Promise<string[]> {
  return (await runGit(['ls-files', '-z'], { cwd })).split('\0').filter(Boolean);
}

/** The files git tracks in a working tree, or undefined outside a git repository. */
export function committedFiles(cwd: string): Promise<string[] | undefined> {
  return trackedFiles(cwd).catch(() => undefined);
}
