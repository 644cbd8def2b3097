import { cpSync } from 'node:fs';
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
