import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { simpleGit } from 'simple-git';

/**
 * A fresh git repository holding a copy of the example API, so the demo never edits the
 * project's own files and always starts from the same planted bugs.
 */
export async function prepareDemoRepository(source: string, target: string): Promise<string> {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, filter: (path) => !path.includes('node_modules') });
  const git = simpleGit({
    baseDir: target,
    config: ['user.name=Dynamic Workflows demo', 'user.email=dynamic-workflows@users.noreply.github.com'],
    allowEnvironment: ['GIT_TERMINAL_PROMPT'],
  }).env({ PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0' });
  await git.init(['--quiet', '--initial-branch=main']);
  await git.add('.');
  await git.commit('example-api as shipped, planted bugs included', undefined, { '--quiet': null });
  return target;
}
