import { z } from 'zod';
import { CONFIG_FILE, configSchema } from '../github/config.js';

/** Where the JSON Schema is published in this repository (editors read it through `$schema`). */
export const SCHEMA_PATH = 'schema/dynamic-workflows.schema.json';

/** The subset of JSON Schema that zod writes for the configuration. */
export interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
}

/**
 * The configuration's JSON Schema, as a file the user writes it: keys with defaults are optional.
 * `z.toJSONSchema` writes draft 2020-12, which yaml-language-server and VS Code read.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: 'Dynamic Workflows configuration',
    ...rest,
  };
}

/** The top-level properties of the configuration, from its JSON Schema. */
export function configProperties(): Record<string, SchemaNode> {
  return (configJsonSchema() as { properties: Record<string, SchemaNode> }).properties;
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``;

/** The type of a property in words: `string`, `integer`, `one of "a", "b"`, `list of strings`. */
export function typeOf(node: SchemaNode): string {
  if (node.enum) return `one of ${node.enum.map(code).join(', ')}`;
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'values'}s`;
  return node.type ?? 'any';
}

function limitsOf(node: SchemaNode): string[] {
  const limits: string[] = [];
  if (node.exclusiveMinimum !== undefined) limits.push(`greater than ${node.exclusiveMinimum}`);
  if (node.minimum !== undefined) limits.push(`at least ${node.minimum}`);
  if (node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER)
    limits.push(`at most ${node.maximum}`);
  if (node.minLength) limits.push('not empty');
  if (node.pattern) limits.push(`matches \`${node.pattern}\``);
  return limits;
}

/** One key of the reference: its heading, type, limits, default and description. */
function entry(path: string, node: SchemaNode, depth: number): string[] {
  const lines = [`${'#'.repeat(depth)} \`${path}\``, ''];
  if (node.description) lines.push(node.description, '');
  lines.push(`- Type: ${typeOf(node)}`);
  const limits = limitsOf(node);
  if (limits.length > 0) lines.push(`- Allowed: ${limits.join(', ')}`);
  lines.push(`- Default: ${node.default === undefined ? 'none' : code(node.default)}`);
  lines.push('');
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    lines.push(...entry(`${path}.${key}`, child, Math.min(depth + 1, 4)));
  }
  return lines;
}

/** docs/configuration.md: the reference of every key, generated from the zod schema. */
export function configReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from the zod schema in src/github/config.ts by `npm run docs`. Edit the schema, not this page: test/docs/generated.test.ts fails when they differ. -->',
    '',
    `The configuration lives in \`${CONFIG_FILE}\` on the repository's default branch. Every key is`,
    'optional; a missing key takes its default. With the app, organisation-wide defaults can live in the',
    "same file in the organisation's `.github` repository. An invalid file is reported on the issue, one",
    'line per bad key, and nothing runs.',
    '',
    `Editors check the file against [the JSON Schema](../${SCHEMA_PATH}) when its first line is`,
    `\`# yaml-language-server: $schema=<URL of ${SCHEMA_PATH}>\`, as in the file \`dwf init\` writes.`,
    'Check a set-up with `dwf init --check` (see [the CLI](cli.md#dwf-init)).',
    '',
    'An example:',
    '',
    '```yaml',
    'model: anthropic:claude-sonnet-5-5',
    'budget: { tokens: 5000000, usd: 20 }',
    'approvers: { permission: write, users: [release-manager] }',
    'oracle: { command: npm test, timeoutSeconds: 600 }',
    'scope: { include: ["src/**"], exclude: ["src/generated/**"] }',
    'sweep: { template: sweep, budget: { usd: 5 } }',
    '```',
    '',
    '## Keys',
    '',
  ];
  for (const [key, node] of Object.entries(configProperties())) lines.push(...entry(key, node, 3));
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * The published JSON Schema file's text, formatted as the project's formatter (biome) writes JSON:
 * a list of plain values that fits on one line (110 columns) is written on one line.
 */
export function configJsonSchemaText(): string {
  const text = JSON.stringify(configJsonSchema(), null, 2).replace(
    /^( *)("[^"\n]*": )?\[\n((?: *(?:"[^"\n]*"|[\d.-]+|true|false|null),?\n)+) *\]/gm,
    (whole, indent: string, key: string | undefined, items: string) => {
      const line = `${indent}${key ?? ''}[${items
        .split('\n')
        .map((item) => item.trim())
        .filter(Boolean)
        .join(' ')}]`;
      return line.length <= 110 ? line : whole;
    },
  );
  return `${text}\n`;
}
