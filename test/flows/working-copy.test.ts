import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { adoptWorkingCopy } from '../../src/flows/working-copy.js';
import { git, gitRepoWith, tempDir } from '../helpers.js';

const RUN = '20261126-080000-abcdef';

/** A run's working copy with edits not yet committed, as a killed run leaves it in its run directory. */
function killedRun() {
  const repo = gitRepoWith({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const runsDir = tempDir('dwf-runs-');
  mkdirSync(join(runsDir, RUN));
  const copy = join(runsDir, RUN, 'workspace');
  git(repo, 'worktree', 'add', '-q', '-b', `dwf/${RUN}`, copy, 'HEAD');
  writeFileSync(join(copy, 'a.txt'), 'A\n');
  rmSync(join(copy, 'b.txt'));
  writeFileSync(join(copy, 'c.txt'), 'c\n');
  return { repo, runsDir, copy };
}

describe("a killed run's working copy", () => {
  test('downloaded onto a new checkout, becomes its branch there: edits, deletions and new files', async () => {
    const { repo, runsDir, copy } = killedRun();
    const checkout = tempDir('dwf-new-checkout-');
    git(checkout, 'clone', '-q', repo, '.');
    // The old runner is gone: the working copy's .git names a directory that no longer exists.
    rmSync(repo, { recursive: true, force: true });
    await adoptWorkingCopy(checkout, runsDir, RUN);
    expect(git(checkout, 'diff', '--name-status', 'HEAD', `dwf/${RUN}`).split('\n')).toEqual([
      'M\ta.txt',
      'D\tb.txt',
      'A\tc.txt',
    ]);
    expect(existsSync(copy)).toBe(false);
    expect(existsSync(`${copy}.orphaned`)).toBe(true);
    expect(git(checkout, 'worktree', 'list').split('\n')).toHaveLength(1);
    expect(git(checkout, 'status', '--porcelain')).toBe('');
  });

  test('on the same checkout (still its worktree) is left as it is; a bad run id names nothing', async () => {
    const { repo, runsDir, copy } = killedRun();
    await adoptWorkingCopy(repo, runsDir, RUN);
    expect(existsSync(join(copy, 'c.txt'))).toBe(true);
    expect(git(repo, 'rev-parse', `dwf/${RUN}`)).toBe(git(repo, 'rev-parse', 'HEAD'));
    await adoptWorkingCopy(repo, runsDir, '../../etc');
    expect(git(repo, 'branch', '--list').split('\n')).toHaveLength(2);
  });
});
