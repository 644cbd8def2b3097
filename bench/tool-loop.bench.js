// The tool-loop bench's workflow, in a process of its own so that its peak RSS is the workflow's
// alone (not the earlier benches', nor the stand-in server's): engine.bench.js spawns it with
// `node bench/tool-loop.bench.js '{"url":…,"repoDir":…,"runsDir":…}'`, the server in the parent.
// It prints one line of JSON: the wall time and this process's peak RSS.
import { runWorkflow } from '../dist/engine/run.js';
import { resolveModel } from '../dist/models/resolve.js';
import { CONCURRENCY, checkSummary, SCRIPT, TOOL_TURNS } from './workload.js';

const { url, repoDir, runsDir } = JSON.parse(process.argv[2] ?? '{}');
if (!url || !repoDir || !runsDir) {
  throw new Error('usage: node bench/tool-loop.bench.js \'{"url":…,"repoDir":…,"runsDir":…}\'');
}

// Each agent's turns go to the local server and its tool calls to the repository (list_files), as
// a real run's would.
const started = performance.now();
const summary = await runWorkflow({
  source: SCRIPT,
  file: 'bench.js',
  runsDir,
  concurrency: CONCURRENCY,
  provider: resolveModel('anthropic:claude-sonnet-5-5', {
    env: { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: url },
  }),
  workspace: { repoDir, maxTurns: TOOL_TURNS + 2 },
});
const ms = performance.now() - started;
checkSummary(summary);
process.stdout.write(`${JSON.stringify({ ms, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
