#!/usr/bin/env node
// Writes the configuration reference (docs/configuration.md) and the JSON Schema editors read
// (schema/dynamic-workflows.schema.json) from the zod schema in src/github/config.ts, and
// action/workflow-example.yml (the workflow `dwf init --no-app` writes), through the build in dist/. Run with `npm run docs`; test/docs/generated.test.ts fails when they drift.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { configJsonSchemaText, configReference, SCHEMA_PATH } from '../dist/cli/init-reference.js';
import { exampleWorkflowText } from '../dist/cli/init-workflow.js';

const root = resolve(import.meta.dirname, '..');
const outputs = [
  ['docs/configuration.md', configReference()],
  [SCHEMA_PATH, configJsonSchemaText()],
  ['action/workflow-example.yml', exampleWorkflowText()],
];
for (const [path, text] of outputs) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path}`);
}
