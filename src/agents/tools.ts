import type { ToolCall } from '../models/types.js';
import { runCommand, runTests } from './command-tools.js';
import { ToolRefusal } from './confine.js';
import { editFile, listFiles, readFile, writeFile } from './file-tools.js';
import { search } from './search-tool.js';
import type { ToolEnvironment, ToolOutcome } from './tool-common.js';

export { type OracleResult, runOracle } from './command-tools.js';
export type { CommandRecord, OracleConfig, ToolEnvironment, ToolOutcome } from './tool-common.js';
export { toolDefinitions } from './tool-definitions.js';

/** Runs one tool call. Refusals and failures come back as tool errors for the model to read. */
export async function runTool(call: ToolCall, env: ToolEnvironment): Promise<ToolOutcome> {
  try {
    switch (call.name) {
      case 'list_files':
        return { content: env.redactor.redact(listFiles(env, call.input)), isError: false };
      case 'read_file':
        return { content: env.redactor.redact(readFile(env, call.input)), isError: false };
      case 'search':
        return { content: env.redactor.redact(search(env, call.input)), isError: false };
      case 'write_file':
        return { content: await writeFile(env, call.input), isError: false };
      case 'edit_file':
        return { content: await editFile(env, call.input), isError: false };
      case 'run_command':
        return await runCommand(env, call.input);
      case 'run_tests':
        return await runTests(env);
      default:
        return { content: `unknown tool "${call.name}"`, isError: true };
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      error instanceof ToolRefusal
        ? error.message
        : code === 'ENOENT'
          ? `${call.name}: no such file or directory`
          : `${call.name} failed: ${(error as Error).message}`;
    return { content: env.redactor.redact(message), isError: true };
  }
}
