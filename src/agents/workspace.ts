import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { filesWithSecrets, SecretInChangesError, type SecretScanner } from './commit-check.js';
import { diffStatOf } from './diff-stat.js';
import { DIFF, type Git, gitIn, Mutex, READ_DIFF, stagedNames } from './workspace-git.js';

export { SecretInChangesError, type SecretScanner } from './commit-check.js';
export { diffStatOf } from './diff-stat.js';

export interface WorkspaceOptions {
  /** The repository the run works on: a git checkout with at least one commit, or a plain directory. */
  repoDir: string;
  runDir: string;
  runId: string;
  /** The run this one resumes: its files are where this run starts. */
  resumeFrom?: { runDir: string; runId: string };
  /** Every secret the run knows: the commit refuses changes that hold one. */
  secrets?: SecretScanner;
}

export interface Isolated {
  root: string;
  /** Merges the agent's changes back into the run's workspace and removes its worktree when it can. */
  finish(): Promise<{ changed: string[]; conflict?: string }>;
}

export interface ChangeSummary {
  files: string[];
  diffStat: string;
  /** The change as a unified diff, for quality checks. */
  diff: string;
}

export interface Committed {
  branch: string;
  commit: string;
  base: string;
}

/**
 * Where a run's agents work. In a git repository the run gets its own worktree on a new branch
 * `dwf/<run-id>`, so the user's checkout is never touched and the run ends as one branch; agents
 * with `isolation: 'worktree'` get a worktree of their own whose changes are merged back when they
 * finish. A directory that is not a git repository is worked on in place.
 */
export class Workspace {
  private setup: Promise<{ root: string; git?: Git; base?: string }> | undefined;
  private readonly gitLock = new Mutex();
  private readonly fileLocks = new Map<string, Mutex>();
  private readonly changedBy = new Map<string, Set<number>>();

  constructor(private readonly options: WorkspaceOptions) {}

  get branch(): string {
    return `dwf/${this.options.runId}`;
  }

  private git(baseDir: string): Git {
    return gitIn(baseDir);
  }

  /** The real path agents work under; created on first use, so runs that touch no files create nothing. */
  async root(): Promise<string> {
    this.setup ??= this.create();
    return (await this.setup).root;
  }

  private async create(): Promise<{ root: string; git?: Git; base?: string }> {
    const repo = realpathSync(this.options.repoDir);
    const repoGit = this.git(repo);
    let base: string | undefined;
    try {
      if ((await repoGit.revparse(['--show-toplevel'])).trim() === repo)
        base = (await repoGit.revparse(['HEAD'])).trim();
    } catch {
      base = undefined;
    }
    if (!base) return { root: repo };
    const path = join(this.options.runDir, 'workspace');
    mkdirSync(dirname(path), { recursive: true });
    await repoGit.raw(['worktree', 'add', '--quiet', '-b', this.branch, path, base]);
    const root = realpathSync(path);
    const git = this.git(root);
    if (this.options.resumeFrom) await this.carryOver(repoGit, git, base, this.options.resumeFrom);
    return { root, git, base };
  }

  /**
   * A resumed run replays its agents' answers, not their edits: it starts from the files the
   * earlier run left, whether still in its worktree (it was killed) or committed on its branch.
   */
  private async carryOver(repoGit: Git, git: Git, base: string, from: { runDir: string; runId: string }) {
    const oldPath = join(from.runDir, 'workspace');
    const oldBranch = `dwf/${from.runId}`;
    let patch = '';
    if (existsSync(oldPath)) {
      const old = this.git(oldPath);
      await old.raw(['add', '-A']);
      patch = await old.raw(['diff', '--cached', '--binary', ...DIFF, 'HEAD']);
      await repoGit.raw(['worktree', 'remove', '--force', oldPath]);
    } else if ((await repoGit.raw(['branch', '--list', oldBranch])).trim() !== '') {
      patch = await repoGit.raw([
        'diff',
        '--binary',
        ...DIFF,
        base,
        oldBranch,
        '--',
        '.',
        ':(exclude).dynamic-workflows',
      ]);
    }
    if (patch.trim() === '') return;
    const file = join(this.options.runDir, 'resumed.patch');
    writeFileSync(file, patch);
    await git.raw(['apply', '--binary', file]);
  }

  /** Serialises writes to one file across agents. */
  withFileLock<T>(absolutePath: string, fn: () => Promise<T>): Promise<T> {
    let lock = this.fileLocks.get(absolutePath);
    if (!lock) {
      lock = new Mutex();
      this.fileLocks.set(absolutePath, lock);
    }
    return lock.run(fn);
  }

  recordChange(agentIndex: number, relativePath: string): void {
    if (!this.changedBy.has(relativePath)) this.changedBy.set(relativePath, new Set());
    this.changedBy.get(relativePath)!.add(agentIndex);
  }

  /** Which agents changed which file. */
  changes(): Record<string, number[]> {
    return Object.fromEntries(
      [...this.changedBy]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([file, agents]) => [file, [...agents].sort((x, y) => x - y)]),
    );
  }

  /** A worktree of the agent's own, holding the workspace as it is now. */
  async isolate(agentIndex: number): Promise<Isolated | undefined> {
    this.setup ??= this.create();
    const { git } = await this.setup;
    if (!git) return undefined;
    const path = join(this.options.runDir, 'worktrees', `agent-${agentIndex}`);
    const current = await this.gitLock.run(async () => {
      await git.raw(['add', '-A']);
      return git.raw(['diff', '--cached', '--binary', ...DIFF, 'HEAD']);
    });
    await this.gitLock.run(() => git.raw(['worktree', 'add', '--quiet', '--detach', path, 'HEAD']));
    const own = this.git(path);
    if (current.trim() !== '') {
      const patch = join(this.options.runDir, 'worktrees', `agent-${agentIndex}.start.patch`);
      writeFileSync(patch, current);
      await own.raw(['apply', '--binary', patch]);
    }
    await own.raw(['add', '-A']);
    await own.raw([
      'commit',
      '--quiet',
      '--allow-empty',
      '--no-verify',
      '-m',
      'workspace when the agent started',
    ]);
    const ownRoot = realpathSync(path);
    return {
      root: ownRoot,
      finish: async () => {
        await own.raw(['add', '-A']);
        const diff = await own.raw(['diff', '--cached', '--binary', ...DIFF, 'HEAD']);
        if (diff.trim() === '') {
          await this.removeWorktree(git, path);
          return { changed: [] };
        }
        const changed = await stagedNames(own);
        const patch = join(this.options.runDir, 'worktrees', `agent-${agentIndex}.patch`);
        writeFileSync(patch, diff);
        const conflict = await this.gitLock.run(async () => {
          await git.raw(['add', '-A']);
          const before = (await git.raw(['write-tree'])).trim();
          try {
            await git.raw(['apply', '--3way', '--binary', patch]);
            return undefined;
          } catch (error) {
            // A failed three-way apply leaves conflict markers: put the workspace back as it was.
            await git.raw(['read-tree', '--reset', '-u', before]);
            return (error as Error).message.trim();
          }
        });
        if (conflict !== undefined) {
          return { changed, conflict: `could not merge the agent's changes (kept in ${path}): ${conflict}` };
        }
        for (const file of changed) this.recordChange(agentIndex, file);
        await this.removeWorktree(git, path);
        return { changed };
      },
    };
  }

  private async removeWorktree(git: Git, path: string): Promise<void> {
    await this.gitLock.run(() => git.raw(['worktree', 'remove', '--force', path]));
  }

  /** What the agents changed against the base commit; undefined outside git or before anything ran. */
  async summary(): Promise<ChangeSummary | undefined> {
    if (!this.setup) return undefined;
    const { git } = await this.setup;
    if (!git) return undefined;
    return this.gitLock.run(async () => {
      await git.raw(['add', '-A']);
      const files = await stagedNames(git);
      const diff = await git.raw(['diff', '--cached', '-U0', ...READ_DIFF, 'HEAD']);
      // git's --stat ignores --text (a `-diff` file shows as "Bin 0 -> 116 bytes"): counted here.
      const diffStat = diffStatOf(diff);
      return { files, diffStat, diff };
    });
  }

  /** Removes the run's working copy, its branch and every patch of its agents' changes. */
  private async discard(repoGit: Git, root: string): Promise<void> {
    await repoGit.raw(['worktree', 'remove', '--force', root]);
    rmSync(join(this.options.runDir, 'worktrees'), { recursive: true, force: true });
    rmSync(join(this.options.runDir, 'resumed.patch'), { force: true });
    await repoGit.raw(['worktree', 'prune']);
    await repoGit.raw(['branch', '-D', this.branch]);
  }

  /**
   * Commits the agents' changes plus the given files (e.g. the report) on the run's branch and
   * removes the run's worktree; the branch stays. Without changes the branch is deleted, unless
   * asked to keep the report anyway (a run with findings but no fixes). Changes that hold a known
   * secret are not committed at all: the working copy and branch are removed and it throws
   * `SecretInChangesError`, naming the files.
   */
  async commit(
    message: string,
    extraFiles: Record<string, string>,
    options: { evenWithoutChanges?: boolean } = {},
  ): Promise<Committed | undefined> {
    if (options.evenWithoutChanges) this.setup ??= this.create();
    if (!this.setup) return undefined;
    const { root, git, base } = await this.setup;
    if (!git || !base) return undefined;
    const repoGit = this.git(realpathSync(this.options.repoDir));
    return this.gitLock.run(async () => {
      await git.raw(['add', '-A']);
      const changed = (await stagedNames(git)).length > 0;
      if (!changed && !options.evenWithoutChanges) {
        await repoGit.raw(['worktree', 'remove', '--force', root]);
        await repoGit.raw(['branch', '-D', this.branch]);
        return undefined;
      }
      for (const [path, content] of Object.entries(extraFiles)) {
        const target = join(root, path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
      await git.raw(['add', '-A']);
      const leaking = await filesWithSecrets(git, this.options.secrets);
      if (leaking.length > 0) {
        await this.discard(repoGit, root);
        throw new SecretInChangesError(leaking);
      }
      await git.raw(['commit', '--quiet', '--no-verify', '-m', message]);
      const commit = (await git.revparse(['HEAD'])).trim();
      await repoGit.raw(['worktree', 'remove', '--force', root]);
      return { branch: this.branch, commit, base };
    });
  }
}
