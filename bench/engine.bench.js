// npm run bench: the engine's speed and memory targets, measured on the built code.
// 1000 agents through `sim` at concurrency 16 and 20 ms latency, against the ideal
// ceil(1000/16) x 20 ms; the runtime's own cost per agent call (also with a SIGINT handler, as
// the CLI has); peak RSS; the time to resume a completed 1000-agent journal; and 1000 agents with
// 10-turn tool loops against a local Anthropic-compatible server at 50 ms latency.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWorkflow } from '../dist/engine/run.js';
import { resolveModel } from '../dist/models/resolve.js';
import { createPlan } from '../dist/plan/plan.js';

const AGENTS = 1000;
const CONCURRENCY = 16;
const LATENCY_MS = 20;
const TARGET_RATIO = 1.3;
const TOOL_TURNS = 10;
const SERVER_LATENCY_MS = 50;

/**
 * A local stand-in for the Messages API: every agent lists files for TOOL_TURNS - 1 turns and then
 * answers, each reply after SERVER_LATENCY_MS.
 */
async function messagesServer() {
  let served = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const turn = body.messages.filter((m) => m.role === 'assistant').length + 1;
      const id = ++served;
      const content =
        turn < TOOL_TURNS
          ? [{ type: 'tool_use', id: `toolu_${id}`, name: 'list_files', input: { path: '.' } }]
          : [{ type: 'text', text: `done after ${turn} turns` }];
      const reply = {
        id: `msg_${id}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: turn < TOOL_TURNS ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 1000, output_tokens: 50 },
      };
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply));
      }, SERVER_LATENCY_MS);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

const SCRIPT = `export const meta = { name: 'bench', description: '${AGENTS} agents' };
const out = await parallel(Array.from({ length: ${AGENTS} }, (_, i) => () => agent('task ' + i, { label: 'task ' + i })));
return out.filter((x) => typeof x === 'string').length;`;

const runsDir = mkdtempSync(join(tmpdir(), 'dwf-bench-'));

async function timed(options) {
  const started = performance.now();
  const summary = await runWorkflow({
    source: SCRIPT,
    file: 'bench.js',
    runsDir,
    concurrency: CONCURRENCY,
    ...options,
  });
  const ms = performance.now() - started;
  if (summary.status !== 'completed' || summary.result !== AGENTS) {
    throw new Error(`bench run did not complete: ${summary.status} ${summary.error ?? ''}`);
  }
  return { ms, summary };
}

try {
  // Warm up module loading and the JIT so the figures measure the engine, not start-up.
  await timed({ provider: resolveModel('sim') });

  const overhead = await timed({ provider: resolveModel('sim') });
  const live = await timed({ provider: resolveModel(`sim?latency=${LATENCY_MS}`) });
  const ideal = Math.ceil(AGENTS / CONCURRENCY) * LATENCY_MS;
  const ratio = live.ms / ideal;
  const resumed = await timed({
    provider: resolveModel(`sim?latency=${LATENCY_MS}`),
    resume: live.summary.runId,
  });
  if (resumed.summary.usage.agents !== 0) throw new Error('the resume ran agents live');
  // With a SIGINT handler installed (as `dwf run` has), each guest slice runs under V8's SIGINT
  // watchdog so that Ctrl-C can stop a tight loop; this measures what that costs.
  const onSigint = () => {};
  process.on('SIGINT', onSigint);
  let watched;
  try {
    watched = await timed({ provider: resolveModel('sim') });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Planning an audit of the example repository: assessment, decision, script and both dry runs.
  const example = join(runsDir, 'example-api');
  cpSync(new URL('../examples/api', import.meta.url), example, { recursive: true });
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '-m', 'x'],
  ]) {
    execFileSync('git', args, { cwd: example });
  }
  const planStarted = performance.now();
  const plan = await createPlan({ repoDir: example, request: 'audit', model: 'claude-sonnet-5-5' });
  const planMs = performance.now() - planStarted;
  if (!plan.script) throw new Error('the example repository got no plan');

  // Tool loops over HTTP: each agent's turns go to the local server and its tool calls to the
  // example repository (list_files), as a real run's would.
  const { server, url } = await messagesServer();
  let loops;
  try {
    loops = await timed({
      provider: resolveModel('anthropic:claude-sonnet-5-5', {
        env: { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: url },
      }),
      workspace: { repoDir: example, maxTurns: TOOL_TURNS + 2 },
    });
  } finally {
    server.close();
  }
  const loopsIdeal = Math.ceil(AGENTS / CONCURRENCY) * TOOL_TURNS * SERVER_LATENCY_MS;
  const loopsRatio = loops.ms / loopsIdeal;
  const loopsRssMb = process.resourceUsage().maxRSS / 1024;

  const rows = [
    [
      `wall time, ${AGENTS} agents at ${CONCURRENCY}-way, ${LATENCY_MS} ms latency`,
      `${live.ms.toFixed(0)} ms`,
    ],
    [`ideal ceil(${AGENTS}/${CONCURRENCY}) x ${LATENCY_MS} ms`, `${ideal} ms`],
    [`ratio (target <= ${TARGET_RATIO})`, ratio.toFixed(3)],
    ['runtime overhead per agent call (0 ms latency)', `${((overhead.ms * 1000) / AGENTS).toFixed(0)} us`],
    [
      'the same with a SIGINT handler installed, as in `dwf run`',
      `${((watched.ms * 1000) / AGENTS).toFixed(0)} us`,
    ],
    [`resume of a completed ${AGENTS}-agent journal`, `${resumed.ms.toFixed(0)} ms`],
    ['peak RSS of this process', `${peakRssMb.toFixed(0)} MB`],
    ['dwf plan audit of the example repository (assess, decide, two dry runs)', `${planMs.toFixed(0)} ms`],
    [
      `${AGENTS} agents, ${TOOL_TURNS}-turn tool loops, local server at ${SERVER_LATENCY_MS} ms: wall time`,
      `${loops.ms.toFixed(0)} ms`,
    ],
    [`  ideal ceil(${AGENTS}/${CONCURRENCY}) x ${TOOL_TURNS} x ${SERVER_LATENCY_MS} ms`, `${loopsIdeal} ms`],
    ['  ratio', loopsRatio.toFixed(3)],
    ['  peak RSS of this process after it (target <= 200 MB)', `${loopsRssMb.toFixed(0)} MB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  const ok = ratio <= TARGET_RATIO;
  console.log(
    ok ? `PASS: wall time within ${TARGET_RATIO}x of ideal` : `FAIL: wall time ${ratio.toFixed(2)}x of ideal`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(runsDir, { recursive: true, force: true });
}
