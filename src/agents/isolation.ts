import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from './commands.js';
import { gitLayout, strippedConfigs, trustedGitDir } from './git-layout.js';
import {
  allowedEnv,
  type IsolationMode,
  IsolationRefusedError,
  type RepoCodeRunner,
  SANDBOX_USER,
} from './repo-code.js';
import {
  DEFAULT_LIMITS,
  defaultHidden,
  defaultRevealed,
  type SandboxLimits,
  SETUP,
  sandboxSteps,
} from './sandbox-steps.js';
import { findIsolation, type Isolation } from './sandbox-user.js';

export {
  type GitLayout,
  gitConfigFiles,
  gitLayout,
  strippedGitConfig,
  trustedGitDir,
} from './git-layout.js';
export {
  allowedEnv,
  type IsolationMode,
  IsolationRefusedError,
  noRepoCode,
  type RepoCodeRunner,
  type RepoCommand,
  type RepoRunLimits,
  SANDBOX_USER,
} from './repo-code.js';
export { DEFAULT_LIMITS, type SandboxLimits, type SandboxPlan, sandboxSteps } from './sandbox-steps.js';

/**
 * Repository code (the test command, the commands agents may run, the planner's baseline run)
 * is the code an attacker controls: a prompt-injected agent writes it, a pull request brings it.
 * It runs here, isolated, and nowhere else:
 *
 * - as another unprivileged user (`dwf-sandbox`), with no-new-privs and no capabilities, so no
 *   sudo and no setuid program raises it;
 * - in its own PID namespace (plus mount, IPC and UTS): no other process is visible, so no
 *   `/proc/<pid>/environ` of the runner holds a token for it to read;
 * - with an environment built from an allow-list (also for the namespace's first process, whose
 *   environ it can read);
 * - in a throwaway copy of the working tree, owned by that user and mounted at the tree's own path,
 *   so its writes are discarded and cannot plant files that get committed; the repository's `.git`
 *   is mounted read-only, with its configuration stripped of credentials;
 * - with `/root`, `/home`, `/tmp`, the runner's temp, the run directory and the checkout hidden
 *   behind empty file systems, a private HOME and TMPDIR;
 * - within the time and output limits, its whole process tree killed on timeout or abort.
 *
 * It needs root (or passwordless sudo, as on GitHub-hosted runners) and util-linux's `unshare`
 * and `setpriv`. Where that is missing, a run refuses to run repository code unless the
 * configuration opts out by name (`isolation: off`, `--no-isolation`): never a silent fallback.
 */

interface SandboxSetup {
  hide: string[];
  /** The common git directory of the repository served: the only one shown to the sandbox. */
  gitDir: string | undefined;
  limits: SandboxLimits;
}

function isolatedRunner(isolation: Isolation, setup: SandboxSetup, env: NodeJS.ProcessEnv): RepoCodeRunner {
  const home = existsSync('/home') ? `/home/${isolation.user}` : `/tmp/${isolation.user}-home`;
  const fixed = {
    HOME: home,
    TMPDIR: '/tmp',
    USER: isolation.user,
    LOGNAME: isolation.user,
    // The copy belongs to another user than the repository: let git work in it.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  };
  const commandEnv = allowedEnv(env, fixed);
  const hidden = [...defaultHidden(env), ...setup.hide];
  const revealed = defaultRevealed();
  const { limits } = setup;
  const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
  return {
    isolated: true,
    description:
      `repository code runs isolated: as user ${isolation.user} (uid ${isolation.uid}) without sudo, ` +
      'in its own PID namespace, with an allow-listed environment, in a throwaway copy of the tree with .git read-only, ' +
      `a private HOME and TMPDIR, ${mib(limits.writableBytes)} to write in each and at most ${limits.processes} processes` +
      (isolation.prefix.length > 0 ? ' (set up through sudo)' : ''),
    async run(command, limits_) {
      const cwd = realpathSync(limits_.cwd);
      const stage = mkdtempSync(join(tmpdir(), 'dwf-sandbox-'));
      try {
        const git = gitLayout(cwd, setup.gitDir);
        const configs = await strippedConfigs(stage, git);
        const t = join(stage, 'setup');
        mkdirSync(t);
        const steps = sandboxSteps({ cwd, stage: t, hidden, revealed, git, configs, home, limits });
        const argv = 'argv' in command ? command.argv : ['/bin/sh', '-c', command.shell];
        const seconds = Math.max(1, Math.ceil(limits_.timeoutMs / 1000) + 1);
        return await runProcess(
          {
            argv: [
              ...isolation.prefix,
              'timeout',
              '-k',
              '2',
              '-s',
              'KILL',
              String(seconds),
              'env',
              '-i',
              ...Object.entries(commandEnv).map(([k, v]) => `${k}=${v}`),
              'unshare',
              '--mount',
              '--pid',
              '--fork',
              '--mount-proc',
              '--ipc',
              '--uts',
              '--kill-child',
              '--',
              'bash',
              '-c',
              SETUP,
              'dwf-sandbox-setup',
              String(isolation.uid),
              String(isolation.gid),
              cwd,
              String(limits.processes),
              ...steps,
              '--',
              ...argv,
            ],
          },
          {
            cwd: '/',
            env: commandEnv,
            timeoutMs: limits_.timeoutMs,
            maxOutputBytes: limits_.maxOutputBytes,
            ...(limits_.signal ? { signal: limits_.signal } : {}),
            gentleStop: isolation.prefix.length > 0,
          },
        );
      } finally {
        rmSync(stage, { recursive: true, force: true });
      }
    },
  };
}

function unisolatedRunner(env: NodeJS.ProcessEnv): RepoCodeRunner {
  return {
    isolated: false,
    description:
      'repository code runs UNISOLATED (isolation: off): as this user, in the working tree itself, ' +
      "able to read this process's environment (tokens and keys) through /proc",
    // Each command gets a private HOME of its own, removed when it ends, as the isolated runner does.
    run: async (command, limits) => {
      const home = mkdtempSync(join(tmpdir(), 'dwf-home-'));
      try {
        return await runProcess(command, {
          cwd: limits.cwd,
          env: allowedEnv(env, { HOME: home }),
          timeoutMs: limits.timeoutMs,
          maxOutputBytes: limits.maxOutputBytes,
          ...(limits.signal ? { signal: limits.signal } : {}),
        });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

function refusingRunner(reason: string): RepoCodeRunner {
  const error = new IsolationRefusedError(reason);
  return {
    isolated: false,
    description:
      `repository code will be refused: isolation cannot be set up here (${reason}); ` +
      'set `isolation: off` or pass --no-isolation to run it unisolated',
    run: () => Promise.reject(error),
  };
}

export interface RunnerOptions {
  isolation: IsolationMode;
  /**
   * The repository this runner serves. Its `.git` (or the common directory its `.git` file names)
   * is the only git directory the sandbox is shown, read-only with every configuration stripped;
   * a `.git` pointing anywhere else is not followed. Without it, git finds no repository inside.
   */
  repoDir?: string;
  /** Directories to hide besides the defaults: the run directory, the checkout. Inside the working tree, they are left out of its copy. */
  hide?: string[];
  /** Sizes and process count; defaults in `DEFAULT_LIMITS`. */
  limits?: Partial<SandboxLimits>;
  /** Where the allow-listed variables (PATH, LANG, TZ...) come from; default this process's. */
  env?: NodeJS.ProcessEnv;
  user?: string;
}

/**
 * The runner for repository code: isolated when it can be; with `isolation: 'off'` unisolated (and
 * its description says so); otherwise one that refuses, naming the key that opts out. Probes by
 * running `true` in a sandbox, so a machine that cannot set one up is found out before any real
 * command.
 */
export async function createRepoCodeRunner(options: RunnerOptions): Promise<RepoCodeRunner> {
  const env = options.env ?? process.env;
  if (options.isolation === 'off') return unisolatedRunner(env);
  const found = await findIsolation(env, options.user ?? SANDBOX_USER);
  if (typeof found === 'string') return refusingRunner(found);
  const runner = isolatedRunner(
    found,
    {
      hide: options.hide ?? [],
      gitDir: options.repoDir ? trustedGitDir(realpathSync(options.repoDir)) : undefined,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    },
    env,
  );
  const probeDir = mkdtempSync(join(tmpdir(), 'dwf-probe-'));
  try {
    const probe = await runner.run(
      { argv: ['true'] },
      { cwd: probeDir, timeoutMs: 30_000, maxOutputBytes: 4096 },
    );
    if (probe.exitCode !== 0) {
      return refusingRunner(
        `setting up a sandbox failed (exit ${probe.exitCode}): ${probe.output.trim().slice(0, 500)}`,
      );
    }
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
  return runner;
}
