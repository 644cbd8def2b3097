import yaml from 'js-yaml';
import { configSchema } from '../github/config.js';
import { configProperties, type SchemaNode } from './init-reference.js';

/** The configuration's default model, from the schema. */
export const CONFIG_DEFAULT_MODEL = configSchema.parse({}).model;

/** What `dwf init` was told (by flags or answers) to put in `.github/dynamic-workflows.yml`. */
export interface ConfigChoices {
  model: string;
  budget: { tokens?: number | undefined; usd?: number | undefined };
  /** The sweep's own budget when sweeps are scheduled; absent: no sweep. */
  sweepBudget?: { tokens?: number | undefined; usd?: number | undefined } | undefined;
  /** The app's bot login, when the app dispatches and its name is not the default. */
  appLogin?: string | undefined;
  /** Where editors find the JSON Schema (a URL, or a path relative to `.github/`). */
  schemaUrl: string;
}

const defined = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

/** A key and its value as one line of YAML (flow style for objects and lists). */
const line = (key: string, value: unknown) =>
  yaml.dump({ [key]: value }, { flowLevel: 1, lineWidth: -1 }).trimEnd();

/** A description as comment lines of at most about 100 columns. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let current = '#';
  for (const word of text.split(/\s+/)) {
    if (current.length + word.length > 100 && current !== '#') {
      lines.push(current);
      current = '#';
    }
    current += ` ${word}`;
  }
  return [...lines, current];
}

const describe = (node: SchemaNode | undefined) => comment(node?.description ?? '');

/** The commented configuration file: the chosen keys set, every other key commented out with its default. */
export function configText(c: ConfigChoices): string {
  const properties = configProperties();
  const set: Record<string, unknown> = {
    model: c.model,
    budget: defined(c.budget),
    ...(c.sweepBudget ? { sweep: { template: 'sweep', budget: defined(c.sweepBudget) } } : {}),
    ...(c.appLogin ? { appLogin: c.appLogin } : {}),
  };
  const lines = [
    `# yaml-language-server: $schema=${c.schemaUrl}`,
    '# Dynamic Workflows, read from the default branch. Every key is optional and has a default; the',
    '# reference is docs/configuration.md in dynamic-workflows. Check the set-up with `dwf init --check`.',
    '',
  ];
  for (const [key, value] of Object.entries(set))
    lines.push(...describe(properties[key]), line(key, value), '');
  if (!c.sweepBudget) {
    lines.push(
      ...describe(properties.sweep),
      '# To schedule it: `dwf init --sweep --sweep-budget-usd 5 --force`, or set this and uncomment the',
      "# workflow's schedule:",
      `# ${line('sweep', { template: 'sweep', budget: { usd: 5 } })}`,
      '',
    );
  }
  lines.push('# The other keys, commented out: each at its default, or an example where it has none.', '');
  for (const [key, node] of Object.entries(properties)) {
    if (key in set || key === 'sweep') continue;
    if (node.default !== undefined) {
      lines.push(...describe(node), `# ${line(key, node.default)}`, '');
    } else {
      // No default: unset, the product decides (the test command is detected, the scope is every file).
      lines.push(...describe(node), `# Unset by default. For example:`, `# ${line(key, EXAMPLES[key])}`, '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Values to show for keys without a default. */
const EXAMPLES: Record<string, unknown> = {
  triggerPermission: 'write',
  oracle: { command: 'npm test', timeoutSeconds: 600 },
  scope: { include: ['src/**'], exclude: [] },
};
