import type { CommandResult } from './commands.js';

/** What runs repository code, as the rest of the product sees it (how it is isolated: `isolation.ts`). */

export type IsolationMode = 'required' | 'off';

export type RepoCommand = { argv: string[] } | { shell: string };

export interface RepoRunLimits {
  /** The working tree the command runs in (its copy, when isolated). */
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

/** Runs repository code. One per run, built by `createRepoCodeRunner`, handed to everything that runs such code. */
export interface RepoCodeRunner {
  readonly isolated: boolean;
  /** One line for the run's log: how repository code runs, or why it will be refused. */
  readonly description: string;
  /** The output is not redacted: callers redact what they pass on. Rejects with `IsolationRefusedError`. */
  run(command: RepoCommand, limits: RepoRunLimits): Promise<CommandResult>;
}

/** Repository code was not run because it could not be isolated and nothing opted out. */
export class IsolationRefusedError extends Error {
  constructor(readonly reason: string) {
    super(
      `refused to run repository code: it runs only isolated (another user, its own PID namespace), ` +
        `and isolation cannot be set up here: ${reason}. To run it unisolated anyway, as this user and ` +
        'able to read its environment, set `isolation: off` in .github/dynamic-workflows.yml, or pass ' +
        '--no-isolation to dwf',
    );
    this.name = 'IsolationRefusedError';
  }
}

export const SANDBOX_USER = 'dwf-sandbox';

/** Host variables a command may see; everything else (tokens and keys included) is dropped. */
const PASSED_THROUGH = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM'];

/** The environment of repository code: the allow-listed variables and fixed ones, nothing else. */
export function allowedEnv(host: NodeJS.ProcessEnv, fixed: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const name of PASSED_THROUGH) {
    const value = host[name];
    if (value !== undefined) out[name] = value;
  }
  return {
    ...out,
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    GIT_TERMINAL_PROMPT: '0',
    ...fixed,
  };
}

/** For runs without a test command or allowed commands: no repository code is ever run. */
export const noRepoCode: RepoCodeRunner = {
  isolated: false,
  description: 'no repository code runs in this run',
  run: () => Promise.reject(new Error('no test command or allowed command is configured for this run')),
};
