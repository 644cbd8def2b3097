import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SavedWorkflow, WorkflowResolver } from './run.js';

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * Saved workflows for `workflow(name)`: the built-in ones first, then the repository's own
 * `.claude/workflows/NAME.js`. Built-ins come first so that repository content cannot replace the
 * loop a built-in workflow (a scheduled sweep, say) runs. Names are plain file names; paths are refused.
 */
export function savedWorkflows(dirs: { repoDir: string; builtinDir?: string }): WorkflowResolver {
  const places = [...(dirs.builtinDir ? [dirs.builtinDir] : []), join(dirs.repoDir, '.claude', 'workflows')];
  return (nameOrRef: unknown): SavedWorkflow => {
    const name =
      typeof nameOrRef === 'string'
        ? nameOrRef
        : typeof nameOrRef === 'object' &&
            nameOrRef !== null &&
            typeof (nameOrRef as { name?: unknown }).name === 'string'
          ? (nameOrRef as { name: string }).name
          : undefined;
    if (name === undefined || !NAME.test(name.replace(/\.js$/, ''))) {
      throw new TypeError('workflow(nameOrRef): give the name of a saved workflow, e.g. workflow("audit")');
    }
    const bare = name.replace(/\.js$/, '');
    for (const dir of places) {
      const file = join(dir, `${bare}.js`);
      if (existsSync(file))
        return { source: readFileSync(file, 'utf8'), file: relative(process.cwd(), file) || file };
    }
    throw new Error(`workflow(): no saved workflow named "${bare}" (looked in ${places.join(', ')})`);
  };
}
