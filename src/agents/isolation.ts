import { execFile } from 'node:child_process';
import {
  accessSync,
  constants,
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
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
uid=$1 gid=$2 cwd=$3 nproc=$4
shift 4
while [ "$#" -gt 0 ]; do
  op=$1
  shift
  case "$op" in
    --) break ;;
    tmpfs) mkdir -p -- "$1"; mount -n -t tmpfs -o "mode=$2,size=$3,nr_inodes=$4,nosuid,nodev" dwf-sandbox "$1"; shift 4 ;;
    dir) mkdir -p -- "$1"; shift ;;
    file) if [ ! -e "$1" ]; then mkdir -p -- "\${1%/*}"; : > "$1"; fi; shift ;;
    home) mkdir -p -- "$1"; chown -- "$uid:$gid" "$1"; chmod 700 -- "$1"; shift ;;
    copydir)
      src=$1 dst=$2 n=$3
      shift 3
      skip=()
      for ((i = 0; i < n; i++)); do skip+=(! -name "$1"); shift; done
      mkdir -p -- "$dst"
      chown --reference="$src" -- "$dst"
      chmod --reference="$src" -- "$dst"
      find "$src" -mindepth 1 -maxdepth 1 \${skip[@]+"\${skip[@]}"} -exec cp -a -t "$dst" -- {} +
      ;;
    own)
      chown -h -- "$uid:$gid" "$1"
      find "$1" -mindepth 1 \\( -type d -perm -o=rx -o ! -type d -perm -o=r \\) -exec chown -h -- "$uid:$gid" {} +
      shift ;;
    limit)
      read -r b f s c d <<< "$(stat -f -c '%b %f %S %c %d' -- "$1")"
      mount -n -o "remount,size=$(( (b - f) * s + $2 )),nr_inodes=$(( c - d + $3 ))" -- "$1"
      shift 3 ;;
    config) install -m "$3" -o 0 -g "$gid" -- "$1" "$2"; shift 3 ;;
    bind) mount -n --bind -o nosuid,nodev -- "$1" "$2"; shift 2 ;;
    robind) mount -n --bind -o ro,nosuid,nodev -- "$1" "$2"; shift 2 ;;
    move) mount -n --move -- "$1" "$2"; shift 2 ;;
    *) echo "dwf-sandbox: unknown setup step: $op" >&2; exit 125 ;;
  esac
done
cd -- "$cwd"
unset OLDPWD
ulimit -u "$nproc"
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
    // Sockets (docker's, the system bus), sudo's state, systemd's; what programs need of it
    // (the resolver's directory) is shown through read-only.
    '/run',
    '/var/run',
    // Kubernetes service-account tokens, when /var/run is not a link to /run.
    '/var/run/secrets',
    homedir(),
    tmpdir(),
    ...(env.RUNNER_TEMP ? [env.RUNNER_TEMP] : []),
  ];
}

/** Directories inside hidden ones that programs need, shown through read-only: the resolver's. */
function defaultRevealed(): string[] {
  try {
    // On Ubuntu /etc/resolv.conf links to /run/systemd/resolve/stub-resolv.conf.
    return [dirname(realpathSync('/etc/resolv.conf'))];
  } catch {
    return [];
  }
}

function realDir(path: string): string | undefined {
  try {
    const real = realpathSync(path);
    return statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The real git directory a `.git` file names (`gitdir: <path>`), if it is a directory. */
function gitDirOf(dotGitFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(dotGitFile, 'utf8');
  } catch {
    return undefined;
  }
  const pointer = /^gitdir:\s*(.+)$/m.exec(text)?.[1]?.trim();
  return pointer ? realDir(resolve(dirname(dotGitFile), pointer)) : undefined;
}

/**
 * The common git directory of the repository a runner serves: the real `<repoDir>/.git`, or, when
 * that is a `.git` file (the repository is itself a worktree or a submodule), the common directory
 * it names. It is the only git directory the sandbox is ever shown.
 */
export function trustedGitDir(repoDir: string): string | undefined {
  const dotGit = join(repoDir, '.git');
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dotGit);
  } catch {
    return undefined;
  }
  if (stat.isDirectory()) return realDir(dotGit);
  if (!stat.isFile()) return undefined;
  const gitDir = gitDirOf(dotGit);
  if (!gitDir) return undefined;
  const commonFile = join(gitDir, 'commondir');
  return existsSync(commonFile) ? realDir(resolve(gitDir, readFileSync(commonFile, 'utf8').trim())) : gitDir;
}

/** Where the working tree's git data lives: what to mount read-only, and which configs to strip. */
export interface GitLayout {
  /** `<cwd>/.git`, a directory (a checkout) or a file (a worktree), when it leads to the trusted git directory. */
  dotGit?: { path: string; kind: 'dir' | 'file' };
  /** Git directories mounted read-only at their own path (the trusted common directory, for a worktree). */
  dirs: string[];
  /** Every configuration file under the mounted git directories, each replaced with a copy without credentials. */
  configs: string[];
}

/** Inside a git directory: what holds no configuration (and may be large). */
const NO_CONFIG_INSIDE = new Set(['objects', 'refs', 'logs', 'hooks', 'info', 'lfs', 'rr-cache']);

/**
 * Every git configuration file under a git directory: its own `config` and `config.worktree`,
 * each worktree's, each submodule's (`modules/**`, nested), their worktrees'. Any regular file
 * named so is taken, whatever it is: replacing one too many is harmless, missing one is not.
 */
export function gitConfigFiles(gitDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, isGitDir: boolean) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isFile() && (entry.name === 'config' || entry.name === 'config.worktree')) found.push(path);
      else if (entry.isDirectory() && !(isGitDir && NO_CONFIG_INSIDE.has(entry.name))) {
        walk(path, existsSync(join(path, 'HEAD')));
      }
    }
  };
  walk(gitDir, true);
  return found.sort();
}

/**
 * What of `<cwd>/.git` the sandbox sees. Only the trusted git directory (the one of the repository
 * the runner serves) is ever mounted: `<cwd>/.git` must be that directory, or a `.git` file naming
 * it or one of its worktrees (`<trusted>/worktrees/<name>`, whose common directory is it). Anything
 * else is not followed: a `.git` file is then an ordinary file of the copy, a `.git` directory is
 * left out, and git in the sandbox finds no repository.
 */
export function gitLayout(cwd: string, trusted: string | undefined): GitLayout {
  const none: GitLayout = { dirs: [], configs: [] };
  if (!trusted) return none;
  const dotGit = join(cwd, '.git');
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dotGit);
  } catch {
    return none;
  }
  if (stat.isDirectory()) {
    return realDir(dotGit) === trusted
      ? { dotGit: { path: dotGit, kind: 'dir' }, dirs: [], configs: gitConfigFiles(dotGit) }
      : none;
  }
  if (!stat.isFile()) return none;
  const gitDir = gitDirOf(dotGit);
  if (!gitDir) return none;
  if (gitDir !== trusted) {
    if (dirname(gitDir) !== join(trusted, 'worktrees')) return none;
    const commonFile = join(gitDir, 'commondir');
    if (!existsSync(commonFile)) return none;
    if (realDir(resolve(gitDir, readFileSync(commonFile, 'utf8').trim())) !== trusted) return none;
  }
  return { dotGit: { path: dotGit, kind: 'file' }, dirs: [trusted], configs: gitConfigFiles(trusted) };
}

const SYSTEM_GITCONFIG = '/etc/gitconfig';

/** A text with the user information (`user:password@`) of every URL in it removed. */
const withoutUserinfo = (text: string) => text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');

/**
 * A repository configuration without what could hand the sandbox a credential: auth headers
 * (actions/checkout persists the job token as one), credential helpers, includes, and user
 * information in URLs (in values and in section names).
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
    // A URL's user information holds a credential in a section name too: [url "https://TOKEN@host/"].
    const sub = first === last ? undefined : withoutUserinfo(key.slice(first + 1, last));
    const wanted = sub === undefined ? `[${section}]` : `[${section} ${quote(sub)}]`;
    if (wanted !== header) {
      lines.push(wanted);
      header = wanted;
    }
    lines.push(`\t${name} = ${quote(withoutUserinfo(value))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Sizes of the sandbox's file systems and the number of processes its user may have. */
export interface SandboxLimits {
  /**
   * Room to write: the free space left in the work copy after copying it, and the size of `/tmp`
   * and of the file system holding HOME. Each is a tmpfs (memory), filled only as it is written.
   */
  writableBytes: number;
  /** Files (inodes) that may be created in each of those. */
  writableFiles: number;
  /** Size of each empty file system hiding a directory (they hold only mount points). */
  hiddenBytes: number;
  /**
   * RLIMIT_NPROC of the sandbox's user: processes and threads. The kernel counts them per user,
   * across every sandbox running at once, so it bounds all of them together.
   */
  processes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  writableBytes: 2 * 1024 ** 3,
  writableFiles: 1024 * 1024,
  hiddenBytes: 16 * 1024 ** 2,
  processes: 4096,
};

export interface SandboxPlan {
  /** The working tree (a real path): its copy is mounted here. */
  cwd: string;
  /** An empty directory this process made: a private tmpfs is mounted on it for the setup. */
  stage: string;
  hidden: string[];
  /** Directories inside hidden ones shown through read-only at their own path. */
  revealed?: string[];
  git: GitLayout;
  /** Stripped configuration files (written by this process), the config each replaces and its mode in the sandbox. */
  configs: Array<{ source: string; target: string; mode: string }>;
  home: string;
  limits: SandboxLimits;
}

interface Bind {
  source: string;
  target: string;
  readOnly: boolean;
  kind: 'dir' | 'file';
}

/** A `find -name` pattern that matches exactly this name. */
const literalName = (name: string) => name.replace(/[[\]*?\\]/g, '\\$&');

/**
 * The steps that copy `cwd` to `to`, leaving out the given paths inside it: each directory on the
 * way to a left-out path is made (with the original's owner and mode) and copied entry by entry,
 * everything else is copied whole.
 */
function copySteps(cwd: string, to: string, leftOut: string[]): string[] {
  const steps: string[] = [];
  const rels = leftOut.map((p) => relative(cwd, p).split(sep));
  const level = (prefix: string[]) => {
    const below = rels.filter((r) => r.length > prefix.length && prefix.every((part, i) => r[i] === part));
    const here = new Set(below.filter((r) => r.length === prefix.length + 1).map((r) => r[prefix.length]!));
    // A directory on the way to a left-out path is copied level by level (a link to one is copied as is).
    const onTheWay = [...new Set(below.map((r) => r[prefix.length]!))].filter((name) => {
      const dir = join(cwd, ...prefix, name);
      return !here.has(name) && realDir(dir) === dir;
    });
    const names = [...here, ...onTheWay].sort();
    steps.push(
      'copydir',
      join(cwd, ...prefix),
      join(to, ...prefix),
      String(names.length),
      ...names.map(literalName),
    );
    for (const name of onTheWay) level([...prefix, name]);
  };
  level([]);
  return steps;
}

/**
 * The setup steps for one command, in order: snapshot every source while it is visible, copy the
 * tree (leaving out `.git`, dwf's own `.dwf` and every hidden directory inside it) onto a tmpfs of
 * its own, cap that tmpfs at what the copy holds plus the writable room, prepare each hidden
 * directory's empty file system off to the side with the mounts that must show through it, then
 * move those file systems over the real directories.
 */
export function sandboxSteps(plan: SandboxPlan): string[] {
  const t = plan.stage;
  const { limits } = plan;
  const small = [String(limits.hiddenBytes), '4096'];
  const writable = [String(limits.writableBytes), String(limits.writableFiles)];
  const work = join(t, 'work');
  const steps: string[] = ['tmpfs', t, '700', ...small];
  const binds: Bind[] = [{ source: work, target: plan.cwd, readOnly: false, kind: 'dir' }];

  // Hidden directories: real, existing, not the root, none inside another. Those inside the tree
  // are left out of its copy; the others are covered by an empty file system.
  const real = [
    ...new Set(plan.hidden.map(realDir).filter((d): d is string => d !== undefined && d !== sep)),
  ];
  const inTree = real.filter((d) => d !== plan.cwd && inside(plan.cwd, d));
  const candidates = real.filter((d) => !inside(plan.cwd, d));
  const hidden = candidates
    .filter((d) => !candidates.some((other) => other !== d && inside(other, d)))
    .sort();
  const revealed = [
    ...new Set((plan.revealed ?? []).map(realDir).filter((d): d is string => d !== undefined)),
  ]
    .filter((d) => hidden.some((h) => h !== d && inside(h, d)) && !inside(plan.cwd, d))
    .filter((d, _, all) => !all.some((other) => other !== d && inside(other, d)));

  const sources = [
    ...(plan.git.dotGit ? [plan.git.dotGit] : []),
    ...plan.git.dirs.map((path) => ({ path, kind: 'dir' as const })),
    ...revealed.map((path) => ({ path, kind: 'dir' as const })),
  ];
  sources.forEach((source, i) => {
    const hold = join(t, 'hold', String(i));
    steps.push(source.kind, hold, 'robind', source.path, hold);
    binds.push({ source: hold, target: source.path, readOnly: true, kind: source.kind });
  });

  const leftOut = [
    ...inTree,
    join(plan.cwd, '.dwf'),
    ...(plan.git.dotGit ? [plan.git.dotGit.path] : []),
    ...plan.git.dirs.filter((d) => inside(plan.cwd, d) && d !== plan.cwd),
  ];
  steps.push('tmpfs', work, '755', ...writable);
  steps.push(...copySteps(plan.cwd, work, leftOut));
  steps.push('own', work, 'limit', work, ...writable);
  if (plan.git.dotGit) steps.push(plan.git.dotGit.kind, join(work, '.git'));
  plan.configs.forEach((config, i) => {
    const copy = join(t, 'configs', String(i));
    if (i === 0) steps.push('dir', join(t, 'configs'));
    steps.push('config', config.source, copy, config.mode);
    binds.push({ source: copy, target: config.target, readOnly: true, kind: 'file' });
  });

  const prep = hidden.map((dir, i) => ({ dir, at: join(t, 'hidden', String(i)) }));
  const home = plan.home;
  for (const { dir, at } of prep) {
    const roomy = dir === '/tmp' || inside(dir, home);
    steps.push('tmpfs', at, dir === '/tmp' ? '1777' : '755', ...(roomy ? writable : small));
  }
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
  steps.push('home', mapped(home).path);
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
        // The machine's git configuration too: a CI step may have put a credential there.
        const configTargets = [...git.configs, ...(existsSync(SYSTEM_GITCONFIG) ? [SYSTEM_GITCONFIG] : [])];
        const configs = await Promise.all(
          configTargets.map(async (target, i) => {
            const source = join(stage, `config-${i}`);
            let text = '';
            try {
              text = await strippedGitConfig(target);
            } catch {
              // Not a configuration git can read: the sandbox gets an empty one in its place.
            }
            writeFileSync(source, text, { mode: 0o600 });
            // The sandbox may read the stripped copy exactly when it could read the original.
            const othersRead = (statSync(target).mode & 0o004) !== 0;
            return { source, target, mode: othersRead ? '640' : '600' };
          }),
        );
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
  const missing = [
    'unshare',
    'setpriv',
    'timeout',
    'bash',
    'env',
    'cp',
    'find',
    'chown',
    'mount',
    'stat',
    'install',
  ].filter((p) => !onPath(p, env));
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

/** For runs without a test command or allowed commands: no repository code is ever run. */
export const noRepoCode: RepoCodeRunner = {
  isolated: false,
  description: 'no repository code runs in this run',
  run: () => Promise.reject(new Error('no test command or allowed command is configured for this run')),
};
