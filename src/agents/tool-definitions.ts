import type { ToolDefinition } from '../models/types.js';
import { MAX_READ_LINES, type ToolEnvironment } from './tool-common.js';

/** The tools an agent is offered, as the model reads them. */

const pathProp = { type: 'string', description: 'a path relative to the repository root' };

export function toolDefinitions(env: Pick<ToolEnvironment, 'allowedCommands' | 'oracle'>): ToolDefinition[] {
  const tools: ToolDefinition[] = [
    {
      name: 'list_files',
      description:
        'List files in the repository (or under a directory), optionally filtered by a glob such as "src/**/*.js".',
      input_schema: {
        type: 'object',
        properties: { path: pathProp, glob: { type: 'string' } },
        additionalProperties: false,
      },
    },
    {
      name: 'read_file',
      description: `Read a text file with line numbers. Large files: give start_line and end_line (at most ${MAX_READ_LINES} lines at once).`,
      input_schema: {
        type: 'object',
        properties: {
          path: pathProp,
          start_line: { type: 'integer', minimum: 1 },
          end_line: { type: 'integer', minimum: 1 },
        },
        required: ['path'],
        additionalProperties: false,
      },
    },
    {
      name: 'search',
      description:
        'Search file contents, line by line, with a regular expression in RE2 syntax (like JavaScript without lookaround or backreferences); optionally only files matching a glob.',
      input_schema: {
        type: 'object',
        properties: { pattern: { type: 'string' }, glob: { type: 'string' }, path: pathProp },
        required: ['pattern'],
        additionalProperties: false,
      },
    },
    {
      name: 'write_file',
      description:
        'Create or overwrite a file with the given content. Files under .github/workflows/ and .github/actions/ cannot be written.',
      input_schema: {
        type: 'object',
        properties: { path: pathProp, content: { type: 'string' } },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
    {
      name: 'edit_file',
      description:
        'Replace old_string with new_string in a file. old_string must occur exactly once; include enough context.',
      input_schema: {
        type: 'object',
        properties: { path: pathProp, old_string: { type: 'string' }, new_string: { type: 'string' } },
        required: ['path', 'old_string', 'new_string'],
        additionalProperties: false,
      },
    },
  ];
  if (env.oracle) {
    tools.push({
      name: 'run_tests',
      description: `Run the repository's test suite (${env.oracle.command}) in your working copy and get the outcome.`,
      input_schema: { type: 'object', properties: {}, additionalProperties: false },
    });
  }
  if (env.allowedCommands.length > 0) {
    tools.push({
      name: 'run_command',
      description: `Run one allowed command (no shell syntax). Allowed: ${env.allowedCommands.join('; ')}.`,
      input_schema: {
        type: 'object',
        properties: { command: { type: 'string' } },
        required: ['command'],
        additionalProperties: false,
      },
    });
  }
  return tools;
}
