import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** A refusal the model sees as a tool error; never a crash. */
export class ToolRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolRefusal';
  }
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real path of the nearest part of `target` that exists. */
function realpathOfExisting(target: string): string {
  let current = target;
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(current), ...rest.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw error;
      rest.push(current.slice(parent.length + 1));
      current = parent;
    }
  }
}

/**
 * Resolves a path an agent gave to a real path inside the workspace, or refuses: no `..` out, no
 * absolute path elsewhere, no symlink that leads out, nothing under `.git/`.
 * `root` must itself be a real path.
 */
export function confinePath(root: string, requested: unknown): { absolute: string; relative: string } {
  if (typeof requested !== 'string' || requested.trim() === '')
    throw new ToolRefusal('path must be a non-empty string');
  if (requested.includes('\0')) throw new ToolRefusal('path contains a NUL byte');
  const absolute = resolve(root, requested);
  if (!inside(root, absolute)) {
    throw new ToolRefusal(
      `refused: ${requested} is outside the workspace; use paths relative to the repository root`,
    );
  }
  const rel = relative(root, absolute);
  if (rel.split(sep).includes('.git'))
    throw new ToolRefusal(`refused: ${requested} is inside .git/, which agents may not touch`);
  const real = realpathOfExisting(absolute);
  if (!inside(root, real))
    throw new ToolRefusal(`refused: ${requested} leads outside the workspace through a symbolic link`);
  const realRel = relative(root, real);
  if (realRel.split(sep).includes('.git')) throw new ToolRefusal(`refused: ${requested} leads into .git/`);
  return { absolute: real, relative: realRel.split(sep).join('/') };
}
