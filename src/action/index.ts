import { ActionError, main } from './main.js';

// The bundled entry of action/action.yml. Errors become one annotation line, never a stack of secrets.
main(process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof ActionError ? error.message : `unexpected failure: ${(error as Error).message}`;
    process.stdout.write(`::error::${message.replace(/\r?\n/g, ' ')}\n`);
    process.exitCode = 1;
  },
);
