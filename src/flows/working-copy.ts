import { cpSync, existsSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IDENTITY, runGit } from '../agents/git.js';
import { isRunId } from '../engine/run-dir.js';

/**
 * A killed run's working copy downloaded onto a new runner (a resume in a later job): its files are
 * there, in `workspace` of its run directory, but it is no worktree of this checkout (git's records
 * of it stayed on the old runner), so git cannot read it. Its files become the branch
 * `dwf/<run id>` on this checkout (the base, everything in it replaced by what the working copy
 * holds) and the copy is set aside: the resumed run then starts from them as from a branch. A
 * working copy that is a worktree of this checkout (a resume on the same machine) is left alone.
 */
export async function adoptWorkingCopy(repoDir: string, runsDir: string, runId: string): Promise<void> {
  if (!isRunId(runId)) return;
  const copy = join(runsDir, runId, 'workspace');
  if (!existsSync(join(copy, '.git'))) return;
  const git = (cwd: string, args: string[]) => runGit(args, { cwd, config: IDENTITY });
  let listed: string;
  try {
    listed = await git(repoDir, ['worktree', 'list', '--porcelain']);
  } catch {
    return;
  }
  if (listed.split('\n').some((line) => line === `worktree ${realpathSync(copy)}`)) return;
  const base = (await git(repoDir, ['rev-parse', 'HEAD'])).trim();
  const scratch = `${copy}.adopting`;
  // A working copy left means the run never committed: its branch, if any, holds nothing past the base.
  await git(repoDir, ['worktree', 'add', '--quiet', '-B', `dwf/${runId}`, scratch, base]);
  for (const entry of readdirSync(scratch))
    if (entry !== '.git') rmSync(join(scratch, entry), { recursive: true });
  cpSync(copy, scratch, { recursive: true, filter: (path) => basename(path) !== '.git' });
  await git(scratch, ['add', '-A']);
  await git(scratch, [
    'commit',
    '--quiet',
    '--no-verify',
    '--allow-empty',
    '-m',
    `the working copy of run ${runId}`,
  ]);
  await git(repoDir, ['worktree', 'remove', '--force', scratch]);
  renameSync(copy, `${copy}.orphaned`);
}
