import {
  type Dirent,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runGit } from './git.js';

/** The git data the sandbox is shown: the trusted git directory, its layout, its configs stripped of credentials. */

export function realDir(path: string): string | undefined {
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

/**
 * Stripped copies of the given configuration files and of the machine's (a CI step may have put a
 * credential there), written into `stage`: each with the config it replaces and its mode in the sandbox.
 */
export async function strippedConfigs(
  stage: string,
  git: GitLayout,
): Promise<Array<{ source: string; target: string; mode: string }>> {
  const targets = [...git.configs, ...(existsSync(SYSTEM_GITCONFIG) ? [SYSTEM_GITCONFIG] : [])];
  return Promise.all(
    targets.map(async (target, i) => {
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
}
