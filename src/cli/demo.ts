import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { runGit } from '../agents/git.js';
import { createRepoCodeRunner } from '../agents/isolation.js';

/**
 * A fresh git repository holding a copy of the example API, so the demo never edits the
 * project's own files and always starts from the same planted bugs.
 */
export async function prepareDemoRepository(source: string, target: string): Promise<string> {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, filter: (path) => !path.includes('node_modules') });
  const git = (...args: string[]) =>
    runGit(args, {
      cwd: target,
      config: [
        ['user.name', 'Dynamic Workflows demo'],
        ['user.email', 'dynamic-workflows@users.noreply.github.com'],
      ],
    });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'example-api as shipped, planted bugs included');
  return target;
}

/**
 * The demo runs the bundled example's own tests: isolated where this machine allows it; where it
 * does not (no root, no passwordless sudo), it says so and runs them unisolated, since the code is
 * the example shipped with this package, not a repository's.
 */
export async function demoIsolationArgs(write: (text: string) => void): Promise<string[]> {
  const runner = await createRepoCodeRunner({ isolation: 'required' });
  if (runner.isolated) return [];
  write(
    `${runner.description}\n` +
      "the demo passes --no-isolation: the tests it runs are the bundled example's, shipped with dwf, not a repository's\n",
  );
  return ['--no-isolation'];
}
