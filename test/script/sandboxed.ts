import { checkScript } from '../../src/script/check.js';
import { runInSandbox, type SandboxOptions } from '../../src/script/sandbox.js';

const META = `export const meta = { name: 'n', description: 'd' };\n`;

/** Checks a script body (meta added, one line) and runs it in the sandbox; the host answers nothing unless given. */
export function runSandboxed(body: string, options: Partial<SandboxOptions> = {}) {
  const checked = checkScript(META + body);
  if (!checked.ok) throw new Error(JSON.stringify(checked.diagnostics));
  return runInSandbox({
    body: checked.body,
    file: 'plan.js',
    args: null,
    budgetTotal: null,
    host: { call: async () => null, sync: () => undefined },
    ...options,
  });
}
