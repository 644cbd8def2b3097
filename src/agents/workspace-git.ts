import { IDENTITY, runGit } from './git.js';

/** What the workspace needs of git: a runner in one directory, the diff options, the staged names, a lock. */

/** git in one directory, through the helper that runs no repository code. */
export interface Git {
  raw(args: string[]): Promise<string>;
  revparse(args: string[]): Promise<string>;
}

export function gitIn(cwd: string): Git {
  const raw = (args: string[]) => runGit(args, { cwd, config: IDENTITY });
  return { raw, revparse: (args) => raw(['rev-parse', ...args]) };
}

/**
 * Options of every diff the product reads or applies: no textconv or external diff driver, no
 * colour, the usual `a/` and `b/` prefixes, whatever the repository's configuration says.
 */
export const DIFF = ['--no-textconv', '--no-ext-diff', '--no-color', '--src-prefix=a/', '--dst-prefix=b/'];

/**
 * What a person or a check reads: every file as text, so a `.gitattributes` an agent wrote
 * (`-diff`, `binary`) cannot turn added lines into "Bin 0 -> 116 bytes".
 */
export const READ_DIFF = ['--text', ...DIFF];

/** The names of the staged changes, raw (not quoted), renames as a deletion and an addition. */
export async function stagedNames(git: Git, filter?: string): Promise<string[]> {
  const args = [
    'diff',
    '--cached',
    '--name-only',
    '-z',
    '--no-renames',
    ...(filter ? [`--diff-filter=${filter}`] : []),
  ];
  return (await git.raw([...args, 'HEAD'])).split('\0').filter(Boolean);
}

/** Runs async work one piece at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
