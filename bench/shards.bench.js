// The wall time of a run split across 3 runners against the same run on one (issue 15), on the
// same local Messages API stand-in at the same latency: 96 files, one agent per file with a
// TURNS-turn tool loop, 16 agents at once per runner. Each runner is its own process with its own
// checkout and runs directory (as a job of the matrix is); the sharded figure is the slowest shard
// plus the merge of the three (flows/shards.ts). Run by engine.bench.js, or alone on the built code:
// `npm run build && node bench/shards.bench.js`.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messagesServer } from './workload.js';

const FILES = 96;
const SHARDS = 3;
const TURNS = 4;
const LATENCY_MS = 250;
const CONCURRENCY = 16;

const files = Array.from({ length: FILES }, (_, i) => `src/m${i}.js`);
/** The same script for both: without a shard index, shard() gives the whole list to one runner. */
const SCRIPT = `export const meta = { name: 'scan', description: 'one agent per file', shard: 'files' };
const args = shard(${JSON.stringify({ files })}, { arg: 'files', count: ${SHARDS} });
const out = await parallel(args.files.map((f) => () => agent('Review ' + f, { label: f })));
return out.filter((x) => typeof x === 'string').length;`;

/** One runner: `node bench/shards.bench.js runner '{"url","repoDir","runsDir","shard"?}'`, printing its JSON. */
async function runner(config) {
  const { runShard } = await import('../dist/flows/shards.js');
  const { runScript } = await import('../dist/flows/run.js');
  const { runSettings } = await import('../dist/flows/settings.js');
  const { resolveModel } = await import('../dist/models/resolve.js');
  const provider = resolveModel('anthropic:claude-sonnet-5-5', {
    env: { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: config.url },
  });
  const settings = runSettings(
    { repoDir: config.repoDir, runsDir: config.runsDir, provider },
    { concurrency: CONCURRENCY, budget: { tokens: null, usd: null } },
  );
  const script = { source: SCRIPT, file: 'scan.js' };
  const started = performance.now();
  const summary =
    config.shard === undefined
      ? await runScript(settings, script)
      : await runShard(settings, script, { index: config.shard, count: SHARDS });
  const ms = performance.now() - started;
  if (summary.status !== 'completed') throw new Error(`the run did not complete: ${summary.error}`);
  process.stdout.write(`${JSON.stringify({ ms, agents: summary.result })}\n`);
}

function git(cwd, ...args) {
  return execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

/** A runner's process; resolves to its JSON line. */
function inChild(config) {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [self, 'runner', JSON.stringify(config)], (error, stdout, stderr) => {
      if (error) return reject(new Error(`a runner failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

/** Runs both and prints the figures; returns them. */
export async function shardsBench() {
  const scratch = mkdtempSync(join(tmpdir(), 'dwf-bench-shards-'));
  const { server, url, served } = await messagesServer({ turns: TURNS, latencyMs: LATENCY_MS });
  try {
    const origin = join(scratch, 'origin');
    mkdirSync(join(origin, 'src'), { recursive: true });
    for (const file of files)
      writeFileSync(join(origin, file), `export const m = ${JSON.stringify(file)};\n`);
    git(origin, 'init', '-q', '--initial-branch=main');
    git(origin, 'add', '-A');
    git(origin, 'commit', '-q', '-m', 'bench');
    // Each runner gets its own checkout and runs directory (its artifact folder).
    const place = (name) => {
      const repoDir = join(scratch, name);
      git(scratch, 'clone', '-q', origin, repoDir);
      const runsDir = join(scratch, `${name}-runs`);
      mkdirSync(runsDir);
      return { url, repoDir, runsDir };
    };
    // Warm-up: the runners' module loading is in both figures alike, the server's JIT in neither.
    await inChild({ ...place('warm-up'), shard: 0 });

    // Both timed from this process, from the runners' start to their end: a job's start-up counts.
    const oneStarted = performance.now();
    const one = await inChild(place('one-runner'));
    const oneMs = performance.now() - oneStarted;
    const before = served();
    const started = performance.now();
    const shards = await Promise.all(
      Array.from({ length: SHARDS }, (_, shard) => inChild({ ...place(`shard-${shard}`), shard })),
    );
    const shardsDone = performance.now();
    // The merge job: every shard's runs directory downloaded into one; one report, no changes here.
    const { mergeShards } = await import('../dist/flows/merge-shards.js');
    const merge = place('merge');
    for (let shard = 0; shard < SHARDS; shard++) {
      execFileSync('cp', ['-r', `${join(scratch, `shard-${shard}-runs`)}/.`, merge.runsDir]);
    }
    const merged = await mergeShards({ ...merge, count: SHARDS, name: 'scan', resume: '-' });
    const sharded = performance.now() - started;
    const agents = shards.reduce((n, s) => n + s.agents, 0);
    if (agents !== FILES || one.agents !== FILES || merged.status !== 'completed')
      throw new Error(`the sharded run did not cover every file once: ${agents} agents, ${merged.status}`);
    if (merged.usage.inputTokens !== (served() - before) * 1000)
      throw new Error('the merged accounting is not what the stand-in billed');
    const waves = (n) => Math.ceil(n / CONCURRENCY) * TURNS * LATENCY_MS;
    const rows = [
      [
        `${FILES} agents, ${TURNS}-turn tool loops, ${LATENCY_MS} ms model latency, ${CONCURRENCY} at once per runner: one runner (ideal ${waves(FILES)} ms; its run ${one.ms.toFixed(0)} ms)`,
        `${oneMs.toFixed(0)} ms`,
      ],
      [
        `  split across ${SHARDS} runner processes: all shards, then the merge (ideal ${waves(FILES / SHARDS)} ms; the shards' runs ${shards.map((s) => s.ms.toFixed(0)).join(', ')} ms; the merge ${(performance.now() - shardsDone).toFixed(0)} ms)`,
        `${sharded.toFixed(0)} ms`,
      ],
      ['  speed-up, one runner / sharded', `${(oneMs / sharded).toFixed(2)}x`],
    ];
    return rows;
  } finally {
    server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Prints the figures, one line each (engine.bench.js calls this under its own table). */
export async function printShardsBench() {
  for (const [k, v] of await shardsBench()) console.log(`${k}  ${v}`);
}

if (process.argv[2] === 'runner') await runner(JSON.parse(process.argv[3]));
else if (process.argv[1] === fileURLToPath(import.meta.url)) await printShardsBench();
