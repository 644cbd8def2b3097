#!/usr/bin/env node
import { writeSync } from 'node:fs';
import { main } from '../dist/cli/main.js';

/**
 * Output written with write(2) itself, not through the stdio streams: a Ctrl-C cuts the sandbox's
 * slice off with V8's TerminateExecution, and a stream write in progress in that slice (the
 * progress view writes the script's log lines from inside it) can be left half-done, holding every
 * later line in the stream's buffer for good. A pipe that is full for a moment is waited on.
 */
function directWriter(fd, stream) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return {
    isTTY: stream.isTTY,
    write(text) {
      const bytes = Buffer.from(String(text));
      for (let at = 0; at < bytes.length; ) {
        try {
          at += writeSync(fd, bytes, at);
        } catch (error) {
          if (error.code !== 'EAGAIN') throw error;
          Atomics.wait(pause, 0, 0, 1);
        }
      }
      return true;
    },
  };
}

// The first Ctrl-C (or SIGTERM, or SIGHUP when the terminal closes) stops the run cleanly: running agents are stopped, the journal and
// result are written, and the run can be resumed. A second Ctrl-C quits at once.
const stdout = directWriter(1, process.stdout);
const stderr = directWriter(2, process.stderr);
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    stderr.write(`\n${signal}: stopping the run (press Ctrl-C again to quit at once)\n`);
    stop.abort(new Error(`stopped by ${signal}`));
  });
}

let code = 1;
try {
  code = await main(process.argv.slice(2), {
    stdout,
    stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: stop.signal,
  });
} catch (error) {
  stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

// The command is done: once its output is written the process ends, whatever handle (a timer, a
// socket a client keeps alive) is still open. Two turns of the event loop first, so a signal already
// raised reaches its handler above (the sandbox raises SIGINT again after stopping a script with it).
// Nothing is awaited here: if the process ends by itself first, it does so with this exit code.
process.exitCode = code;
const end = () => process.exit(code);
setTimeout(end, 5000).unref();
// A pipe that was busy holds the rest of the output in the stream's buffer, and an empty write's
// callback does not wait for it: watch the buffer itself.
const drained = (stream) =>
  new Promise((resolve) => {
    const check = () => (stream.writableLength === 0 ? resolve() : setTimeout(check, 5));
    check();
  });
setImmediate(() => setImmediate(() => Promise.all([process.stdout, process.stderr].map(drained)).then(end)));
