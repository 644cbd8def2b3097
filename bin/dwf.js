#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// The first Ctrl-C (or SIGTERM) stops the run cleanly: running agents are stopped, the journal and
// result are written, and the run can be resumed. A second Ctrl-C quits at once.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal}: stopping the run (press Ctrl-C again to quit at once)\n`);
    stop.abort(new Error(`stopped by ${signal}`));
  });
}

let code = 1;
try {
  code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: stop.signal,
  });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

// The command is done: once its output is written the process ends, whatever handle (a timer, a
// socket a client keeps alive) is still open. Two turns of the event loop first, so a signal already
// raised reaches its handler above (the sandbox raises SIGINT again after stopping a script with it).
// Nothing is awaited here: if the process ends by itself first, it does so with this exit code.
process.exitCode = code;
const end = () => process.exit(code);
setTimeout(end, 5000).unref();
setImmediate(() =>
  setImmediate(() =>
    Promise.all(
      [process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))),
    ).then(end),
  ),
);
