import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { inside } from './confine.js';
import { type GitLayout, realDir } from './git-layout.js';

/** The fixed setup script of a sandbox and the list of steps it is given: what is copied, hidden, shown. */

/**
 * The setup run as root inside the new namespaces, then replaced by the command as the sandbox
 * user. Fixed text: every path reaches it as an argument, a list of steps from a closed set.
 */
export const SETUP = `set -euo pipefail
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
export function defaultHidden(env: NodeJS.ProcessEnv): string[] {
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
export function defaultRevealed(): string[] {
  try {
    // On Ubuntu /etc/resolv.conf links to /run/systemd/resolve/stub-resolv.conf.
    return [dirname(realpathSync('/etc/resolv.conf'))];
  } catch {
    return [];
  }
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
