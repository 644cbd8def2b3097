import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, tempDir } from '../helpers.js';

export { git };

const root = join(import.meta.dirname, '..', '..');

/** A checkout of the example API, as actions/checkout leaves it, whose origin is a local bare repository. */
export function exampleCheckout(branch = 'main', options: { pushed?: boolean } = { pushed: true }) {
  const remote = tempDir('dwf-remote-');
  git(remote, 'init', '-q', '--bare', `--initial-branch=${branch}`);
  const checkout = tempDir('dwf-checkout-');
  cpSync(join(root, 'examples', 'api'), checkout, { recursive: true });
  git(checkout, 'init', '-q', `--initial-branch=${branch}`);
  git(checkout, 'add', '-A');
  git(checkout, 'commit', '-q', '-m', 'example');
  git(checkout, 'remote', 'add', 'origin', remote);
  if (options.pushed) git(checkout, 'push', '-q', 'origin', branch);
  return { remote, checkout };
}

/**
 * A runs directory holding one completed run of shard 0 of 1, `runId`, as a shard job leaves it:
 * `changes.bundle` with `refs` of `checkout` (everything since `base`), and its result.json.
 */
export function bundledShardRun(checkout: string, base: string, runId: string, refs: string[]): string {
  const runsDir = tempDir();
  const runDir = join(runsDir, runId);
  mkdirSync(runDir);
  git(checkout, 'bundle', 'create', '-q', join(runDir, 'changes.bundle'), ...refs, `^${base}`);
  writeFileSync(
    join(runDir, 'result.json'),
    JSON.stringify({ status: 'completed', shard: { index: 0, count: 1 }, branch: `dwf/${runId}` }),
  );
  return runsDir;
}
