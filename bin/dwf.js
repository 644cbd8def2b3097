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

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: stop.signal,
});
