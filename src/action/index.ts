import { ActionError, main } from './main.js';

/**
 * Resolves once everything written to stdout and stderr so far is out. A pipe that was busy holds
 * the rest in the stream's buffer, and an empty write's callback does not wait for it: watch the
 * buffer itself.
 */
function flushed(): Promise<unknown> {
  return Promise.all(
    [process.stdout, process.stderr].map(
      (stream) =>
        new Promise<void>((resolve) => {
          const check = () => (stream.writableLength === 0 ? resolve() : setTimeout(check, 5));
          check();
        }),
    ),
  );
}

// The bundled entry of action/action.yml. Errors become one annotation line, never a stack of secrets.
// When main is done the step ends, once its output is written: no handle left open (a timer, a
// socket) can keep the job running until its timeout.
main(process.env)
  .then(
    (code) => code,
    (error: unknown) => {
      const message =
        error instanceof ActionError ? error.message : `unexpected failure: ${(error as Error).message}`;
      process.stdout.write(`::error::${message.replace(/\r?\n/g, ' ')}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    process.exitCode = code;
    await flushed();
    process.exit(code);
  });
