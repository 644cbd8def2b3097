import { execFile } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { type CommandResult, runProcess } from './commands.js';
import { inside } from './confine.js';
import { runGit } from './git.js';

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

/**
 * The setup run as root inside the new namespaces, then replaced by the command as the sandbox
 * user. Fixed text: every path reaches it as an argument, a list of steps from a closed set.
 */
const SETUP = `set -euo pipefail
trap 'echo "dwf-sandbox: setting up the sandbox failed at: $BASH_COMMAND" >&2; exit 125' ERR
uid=$1 gid=$2 cwd=$3
shift 3
while [ "$#" -gt 0 ]; do
  op=$1
  shift
  case "$op" in
    --) break ;;
    tmpfs) mkdir -p -- "$1"; mount -t tmpfs -o "mode=$2,nosuid,nodev" dwf-sandbox "$1"; shift 2 ;;
    dir) mkdir -p -- "$1"; shift ;;
    file) if [ ! -e "$1" ]; then mkdir -p -- "\${1%/*}"; : > "$1"; fi; shift ;;
    home) mkdir -p -- "$1"; chown -- "$uid:$gid" "$1"; chmod 700 -- "$1"; shift ;;
    copy)
      mkdir -p -- "$2"
      find "$1" -mindepth 1 -maxdepth 1 ! -name .git -exec cp -a -t "$2" -- {} +
      chown -R -h -- "$uid:$gid" "$2"
      shift 2 ;;
    bind) mount --bind -o nosuid,nodev -- "$1" "$2"; shift 2 ;;
    robind) mount --bind -o ro,nosuid,nodev -- "$1" "$2"; shift 2 ;;
    move) mount --move -- "$1" "$2"; shift 2 ;;
    *) echo "dwf-sandbox: unknown setup step: $op" >&2; exit 125 ;;
  esac
done
cd -- "$cwd"
unset OLDPWD
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
`;

/** Directories repository code never sees (when they exist), besides the run's own. */
function defaultHidden(env: NodeJS.ProcessEnv): string[] {
  return [
    '/root',
    '/home',
    '/tmp',
    '/var/tmp',
    '/dev/shm',
    '/run/user',
    '/run/lock',
    '/run/sudo',
    homedir(),
    tmpdir(),
    ...(env.RUNNER_TEMP ? [env.RUNNER_TEMP] : []),
  ];
}

function realDir(path: string): string | undefined {
  try {
    const real = realpathSync(path);
    return statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Where the working tree's git data lives: what to mount read-only, and which configs to strip. */
export interface GitLayout {
  /** `<cwd>/.git`, a directory (a checkout) or a file (a worktree). */
  dotGit?: { path: string; kind: 'dir' | 'file' };
  /** Git directories outside the tree (a worktree's common directory). */
  dirs: string[];
  /** Configuration files to replace with a copy without credentials. */
  configs: string[];
}

export function gitLayout(cwd: string): GitLayout {
  const dotGit = join(cwd, '.git');
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dotGit);
  } catch {
    return { dirs: [], configs: [] };
  }
  const existing = (...paths: string[]) => paths.filter((p) => existsSync(p));
  if (stat.isDirectory()) {
    return { dotGit: { path: dotGit, kind: 'dir' }, dirs: [], configs: existing(join(dotGit, 'config')) };
  }
  if (!stat.isFile()) return { dirs: [], configs: [] };
  const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  const gitDir = pointer ? realDir(resolve(cwd, pointer)) : undefined;
  if (!gitDir) return { dotGit: { path: dotGit, kind: 'file' }, dirs: [], configs: [] };
  const commonFile = join(gitDir, 'commondir');
  const common = existsSync(commonFile)
    ? (realDir(resolve(gitDir, readFileSync(commonFile, 'utf8').trim())) ?? gitDir)
    : gitDir;
  const dirs = inside(common, gitDir) ? [common] : [common, gitDir];
  return {
    dotGit: { path: dotGit, kind: 'file' },
    dirs: dirs.filter((d) => !inside(cwd, d)),
    configs: existing(join(common, 'config'), join(gitDir, 'config.worktree')),
  };
}

/**
 * A repository configuration without what could hand the sandbox a credential: auth headers
 * (actions/checkout persists the job token as one), credential helpers, includes, and user
 * information in URLs.
 */
export async function strippedGitConfig(file: string): Promise<string> {
  const listed = await runGit(['config', '--file', file, '--no-includes', '--list', '-z'], {
    cwd: dirname(file),
  });
  const lines: string[] = [];
  let header = '';
  const quote = (text: string) =>
    `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
  for (const entry of listed.split('\0')) {
    if (entry === '') continue;
    const newline = entry.indexOf('\n');
    const key = newline === -1 ? entry : entry.slice(0, newline);
    const value = newline === -1 ? 'true' : entry.slice(newline + 1);
    const lower = key.toLowerCase();
    if (
      lower.endsWith('.extraheader') ||
      lower.startsWith('credential.') ||
      lower.startsWith('include.') ||
      lower.startsWith('includeif.')
    ) {
      continue;
    }
    const first = key.indexOf('.');
    const last = key.lastIndexOf('.');
    if (first <= 0 || last === key.length - 1) continue;
    const section = key.slice(0, first);
    const name = key.slice(last + 1);
    const sub = first === last ? undefined : key.slice(first + 1, last);
    const wanted = sub === undefined ? `[${section}]` : `[${section} ${quote(sub)}]`;
    if (wanted !== header) {
      lines.push(wanted);
      header = wanted;
    }
    lines.push(`\t${name} = ${quote(value.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1'))}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface SandboxPlan {
  /** The working tree (a real path): its copy is mounted here. */
  cwd: string;
  /** An empty directory this process made: a private tmpfs is mounted on it for the setup. */
  stage: string;
  hidden: string[];
  git: GitLayout;
  /** Stripped configuration files (written by this process) and the config each replaces. */
  configs: Array<{ source: string; target: string }>;
  home: string;
}

interface Bind {
  source: string;
  target: string;
  readOnly: boolean;
  kind: 'dir' | 'file';
}

/**
 * The setup steps for one command, in order: snapshot every source while it is visible, copy the
 * tree, prepare each hidden directory's empty file system off to the side with the mounts that
 * must show through it, then move those file systems over the real directories.
 */
export function sandboxSteps(plan: SandboxPlan): string[] {
  const t = plan.stage;
  const steps: string[] = ['tmpfs', t, '700'];
  const binds: Bind[] = [{ source: join(t, 'work'), target: plan.cwd, readOnly: false, kind: 'dir' }];
  const sources = [
    ...(plan.git.dotGit ? [plan.git.dotGit] : []),
    ...plan.git.dirs.map((path) => ({ path, kind: 'dir' as const })),
  ];
  sources.forEach((source, i) => {
    const hold = join(t, 'hold', String(i));
    steps.push(source.kind, hold, 'robind', source.path, hold);
    binds.push({ source: hold, target: source.path, readOnly: true, kind: source.kind });
  });
  steps.push('copy', plan.cwd, join(t, 'work'));
  if (plan.git.dotGit) steps.push(plan.git.dotGit.kind, join(t, 'work', '.git'));
  for (const config of plan.configs)
    binds.push({ source: config.source, target: config.target, readOnly: true, kind: 'file' });

  // Hidden directories: real, existing, not the root, not inside the tree (its copy replaces it),
  // none inside another.
  const candidates = [
    ...new Set(plan.hidden.map(realDir).filter((d): d is string => d !== undefined && d !== sep)),
  ].filter((d) => !inside(plan.cwd, d));
  const hidden = candidates
    .filter((d) => !candidates.some((other) => other !== d && inside(other, d)))
    .sort();
  const prep = hidden.map((dir, i) => ({ dir, at: join(t, 'hidden', String(i)) }));
  for (const { dir, at } of prep) steps.push('tmpfs', at, dir === '/tmp' ? '1777' : '755');
  const mapped = (target: string) => {
    const owner = prep.find((p) => inside(p.dir, target));
    return owner
      ? { path: join(owner.at, relative(owner.dir, target)), prepared: true }
      : { path: target, prepared: false };
  };
  const depth = (path: string) => path.split(sep).length;
  for (const bind of [...binds].sort((a, b) => depth(a.target) - depth(b.target))) {
    const at = mapped(bind.target);
    if (at.prepared) steps.push(bind.kind, at.path);
    steps.push(bind.readOnly ? 'robind' : 'bind', bind.source, at.path);
  }
  const home = mapped(plan.home);
  steps.push('home', home.path);
  // The directory holding the stage goes last: once it is covered, the stage is out of reach.
  const last = (p: { dir: string }) => (inside(p.dir, t) ? 1 : 0);
  for (const { dir, at } of [...prep].sort((a, b) => last(a) - last(b))) steps.push('move', at, dir);
  return steps;
}

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  const dirs = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']);
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function exec(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      file,
      args,
      { env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

async function sandboxUser(prefix: string[], user: string): Promise<{ uid: number; gid: number } | string> {
  const lookup = async () => {
    const { code, output } = await exec('getent', ['passwd', user]);
    const fields = output.split(':');
    return code === 0 && fields.length >= 4 ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
  };
  let found = await lookup();
  for (let attempt = 0; !found && attempt < 3; attempt++) {
    const [file, ...args] = [
      ...prefix,
      'useradd',
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      user,
    ];
    const made = await exec(file!, args);
    found = await lookup();
    // Another process creating the same user at once is fine; the password file may be locked a moment.
    if (!found && attempt === 2) return `could not create the user ${user}: ${made.output}`;
    if (!found) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  if (found!.uid === 0) return `the user ${user} has uid 0`;
  return found!;
}

interface Isolation {
  prefix: string[];
  uid: number;
  gid: number;
  user: string;
}

function isolatedRunner(isolation: Isolation, hide: string[], env: NodeJS.ProcessEnv): RepoCodeRunner {
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
  const hidden = [...defaultHidden(env), ...hide];
  return {
    isolated: true,
    description:
      `repository code runs isolated: as user ${isolation.user} (uid ${isolation.uid}) without sudo, ` +
      'in its own PID namespace, with an allow-listed environment, in a throwaway copy of the tree with .git read-only, ' +
      `a private HOME and TMPDIR${isolation.prefix.length > 0 ? ' (set up through sudo)' : ''}`,
    async run(command, limits) {
      const cwd = realpathSync(limits.cwd);
      const stage = mkdtempSync(join(tmpdir(), 'dwf-sandbox-'));
      try {
        const git = gitLayout(cwd);
        const configs = await Promise.all(
          git.configs.map(async (target, i) => {
            const source = join(stage, `config-${i}`);
            writeFileSync(source, await strippedGitConfig(target));
            return { source, target };
          }),
        );
        const t = join(stage, 'setup');
        mkdirSync(t);
        const steps = sandboxSteps({ cwd, stage: t, hidden, git, configs, home });
        const argv = 'argv' in command ? command.argv : ['/bin/sh', '-c', command.shell];
        const seconds = Math.max(1, Math.ceil(limits.timeoutMs / 1000) + 1);
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
              ...steps,
              '--',
              ...argv,
            ],
          },
          {
            cwd: '/',
            env: commandEnv,
            timeoutMs: limits.timeoutMs,
            maxOutputBytes: limits.maxOutputBytes,
            ...(limits.signal ? { signal: limits.signal } : {}),
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
  const home = mkdtempSync(join(tmpdir(), 'dwf-home-'));
  const commandEnv = allowedEnv(env, { HOME: home });
  return {
    isolated: false,
    description:
      'repository code runs UNISOLATED (isolation: off): as this user, in the working tree itself, ' +
      "able to read this process's environment (tokens and keys) through /proc",
    run: (command, limits) =>
      runProcess(command, {
        cwd: limits.cwd,
        env: commandEnv,
        timeoutMs: limits.timeoutMs,
        maxOutputBytes: limits.maxOutputBytes,
        ...(limits.signal ? { signal: limits.signal } : {}),
      }),
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

/** Why isolation cannot be set up here, or how to set it up: root directly, else passwordless sudo. */
async function findIsolation(env: NodeJS.ProcessEnv, user: string): Promise<Isolation | string> {
  if (process.platform !== 'linux') return `${process.platform} has no Linux namespaces`;
  const missing = ['unshare', 'setpriv', 'timeout', 'bash', 'env', 'cp', 'find', 'chown', 'mount'].filter(
    (p) => !onPath(p, env),
  );
  if (missing.length > 0) return `${missing.join(', ')} not found (util-linux and coreutils provide them)`;
  let prefix: string[];
  if (process.getuid?.() === 0) prefix = [];
  else if ((await exec('sudo', ['-n', 'true'])).code === 0) prefix = ['sudo', '-n'];
  else return 'this process is not root, and `sudo -n` is not allowed: sudo is missing or wants a password';
  const account = await sandboxUser(prefix, user);
  if (typeof account === 'string') return account;
  return { prefix, user, ...account };
}

export interface RunnerOptions {
  isolation: IsolationMode;
  /** Directories to hide besides the defaults: the run directory, the checkout. */
  hide?: string[];
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
  const runner = isolatedRunner(found, options.hide ?? [], env);
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

/** For runs without a test command or allowed commands: no repository code is ever run. */
export const noRepoCode: RepoCodeRunner = {
  isolated: false,
  description: 'no repository code runs in this run',
  run: () => Promise.reject(new Error('no test command or allowed command is configured for this run')),
};
