// npm run bench:cost: what an audit costs, estimated and actual, and whether prompt caching pays.
// Plans `audit` on three repository shapes (test/cost/realistic.ts: Go 41 source files, Python 8,
// JavaScript 2), runs the same script against a local Messages API that behaves like a diligent
// model (test/cost/server.ts, its own tokenizer and cache by the API's rules), and prints the
// estimate range beside the actual. On the 45-file shape it runs the script again with the cache
// strategies side by side (smart, the default: a tail write on every turn that offers tools, none on
// one that offers none; skip-second: no tail write on an agent's second turn; head only: no tail
// breakpoint; off: no caching at all) and checks the targets: cache-read share >= 60% of all input, dollars <= 0.6x of
// the run without caching. Exit code 1 when a target fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// Two levels under the root, as dist/plan/ is: the bundle finds workflows/ where the built code does.
const out = mkdtempSync(join(root, '.bench-cost-'));
const entry = join(out, 'entry.ts');
writeFileSync(
  entry,
  "export * from '../test/cost/harness.ts';\nexport { SHAPES } from '../test/cost/realistic.ts';\nexport { comparePolicies } from '../test/cost/ttl-phase.ts';\n",
);
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: join(out, 'dist', 'harness.mjs'),
  logLevel: 'error',
});
const { SHAPES, planAudit, repoOf, runAgainstServer, within, fmtTokens, comparePolicies } = await import(
  join(out, 'dist', 'harness.mjs')
);

const pct = (n) => `${(100 * n).toFixed(1)}%`;
const usd = (n) => `$${n.toFixed(3)}`;
let failed = false;
try {
  for (const shape of SHAPES) {
    const repo = repoOf(shape.files());
    const plan = await planAudit(repo);
    const e = plan.estimate;
    const a = await runAgainstServer(repo, plan.script);
    const ok =
      within(a.inputTokens, e.inputTokens) && within(a.totals.output, e.outputTokens) && within(a.usd, e.usd);
    failed ||= !ok;
    console.log(`\n${shape.name}: ${ok ? 'PASS' : 'FAIL'} (the estimate range holds the actual)`);
    console.log(`  agents  ${e.agents.min}–${e.agents.max}   actual ${a.agents}`);
    console.log(
      `  input   ${fmtTokens(e.inputTokens.min)}–${fmtTokens(e.inputTokens.max)}   actual ${fmtTokens(a.inputTokens)} (cache read ${pct(a.totals.cacheRead / a.inputTokens)}, written ${pct(a.totals.cacheWrite / a.inputTokens)})`,
    );
    console.log(
      `  output  ${fmtTokens(e.outputTokens.min)}–${fmtTokens(e.outputTokens.max)}   actual ${fmtTokens(a.totals.output)}`,
    );
    console.log(`  dollars ${usd(e.usd.min)}–${usd(e.usd.max)}   actual ${usd(a.usd)}`);
    for (const p of e.phases) {
      const got = a.phases.get(p.phase);
      console.log(
        `    ${p.phase.padEnd(10)} est ${p.agents.min}–${p.agents.max} agents ${usd(p.usd.min)}–${usd(p.usd.max)}   actual ${got ? `${got.agents} agents ${usd(got.usd)}` : '0 agents'}`,
      );
    }
    if (shape.name.startsWith('pflag')) {
      const skip = await runAgainstServer(repo, plan.script, {
        enabled: true,
        tail: 'skip-second',
        ttl: '5m',
      });
      const headOnly = await runAgainstServer(repo, plan.script, { enabled: true, tail: 'none', ttl: '5m' });
      const off = await runAgainstServer(repo, plan.script, { enabled: false, tail: 'smart', ttl: '5m' });
      const share = a.totals.cacheRead / a.inputTokens;
      const ratio = a.usd / off.usd;
      console.log('  cache strategies on this repository (same script, same server):');
      const line = (name, r) =>
        console.log(
          `    ${name.padEnd(12)}${usd(r.usd)}  read ${pct(r.totals.cacheRead / r.inputTokens)}, written ${pct(r.totals.cacheWrite / r.inputTokens)}`,
        );
      line('smart', a);
      line('skip-second', skip);
      line('head only', headOnly);
      line('off', off);
      const shareOk = share >= 0.6;
      const ratioOk = ratio <= 0.6;
      failed ||= !shareOk || !ratioOk;
      console.log(
        `  cache-read share of all input: ${pct(share)} (target >= 60%) ${shareOk ? 'PASS' : 'FAIL'}`,
      );
      console.log(
        `  dollars vs caching off: ${ratio.toFixed(2)}x (target <= 0.6x) ${ratioOk ? 'PASS' : 'FAIL'}`,
      );
    }
    rmSync(repo, { recursive: true, force: true });
  }
  // The cache TTL per phase (cache-strategy.ts TtlChooser) against both fixed TTLs, on the same
  // server with an injected clock: a phase whose uses come 6 minutes apart, and one 20 s apart.
  console.log('\ncache TTL per phase (test/cost/ttl-phase.ts: rule vs always 5m vs always 1h):');
  for (const [shape, gap] of [
    ['siblings', 360_000],
    ['siblings', 20_000],
    ['turns', 360_000],
    ['turns', 20_000],
  ]) {
    const r = await comparePolicies(shape, gap);
    const cheapest = Math.min(r.fiveMinutes.serverUsd, r.oneHour.serverUsd);
    const cheaperTtl = r.oneHour.serverUsd < r.fiveMinutes.serverUsd ? '1h' : '5m';
    const chose = r.rule.headTtls.at(-1);
    const ok =
      chose === cheaperTtl && r.rule.serverUsd <= Math.max(r.fiveMinutes.serverUsd, r.oneHour.serverUsd);
    failed ||= !ok;
    console.log(
      `  ${shape.padEnd(8)} ${String(gap / 1000).padStart(3)} s apart: rule ${usd(r.rule.serverUsd)} (${r.rule.headTtls.join(' ')})  ` +
        `5m ${usd(r.fiveMinutes.serverUsd)}  1h ${usd(r.oneHour.serverUsd)}  cheaper fixed TTL ${cheaperTtl} ${usd(cheapest)}: ${ok ? 'PASS' : 'FAIL'}`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
