import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@cfworker/json-schema';
import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import {
  configJsonSchema,
  configJsonSchemaText,
  configReference,
  SCHEMA_PATH,
} from '../../src/cli/init-reference.js';
import { configSchema } from '../../src/github/config.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('generated from the zod schema (regenerate with `npm run docs`)', () => {
  test('docs/configuration.md is current', () => {
    expect(read('docs/configuration.md')).toBe(configReference());
  });

  test(`${SCHEMA_PATH} is current`, () => {
    expect(read(SCHEMA_PATH)).toBe(configJsonSchemaText());
    expect(JSON.parse(read(SCHEMA_PATH))).toEqual(configJsonSchema());
  });

  test('the reference names every key of the schema, nested ones too', () => {
    const reference = configReference();
    for (const key of Object.keys(configSchema.shape)) expect(reference).toContain(`### \`${key}\``);
    for (const key of ['budget.tokens', 'budget.usd', 'sweep.budget', 'oracle.command', 'approvers.users'])
      expect(reference).toContain(`\`${key}\``);
  });

  test('the JSON Schema accepts what our parser accepts and refuses what it refuses', () => {
    const validator = new Validator(configJsonSchema() as never, '2020-12');
    const cases: unknown[] = [
      {},
      yaml.load(
        'model: anthropic:claude-sonnet-5-5\nbudget: { tokens: 100, usd: 2 }\nsweep: { budget: { usd: 5 } }',
      ),
      { concurrency: 40 },
      { budget: { dollars: 5 } },
      { approvers: { permission: 'owner' } },
      { redactEnv: ['NOT A NAME'] },
      { unknownKey: true },
    ];
    for (const value of cases)
      expect(validator.validate(value).valid, JSON.stringify(value)).toBe(
        configSchema.safeParse(value).success,
      );
  });
});
