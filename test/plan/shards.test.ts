import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readMarker } from '../../src/github/markers.js';
import { estimateOf, renderPlanComment } from '../../src/github/plan-comment.js';
import { BUILTIN_DIR, bindArgs, createPlan, type Plan, sha256 } from '../../src/plan/plan.js';
import {
  budgetEach,
  type PlanShards,
  type ShardEstimate,
  settleShards,
  shardCount,
  shardedBudget,
} from '../../src/plan/shards.js';
import { budgetLine } from '../../src/report/estimate-text.js';
import { splitShards } from '../../src/script/shard.js';
import { dwfInProcess as dwf, runScript } from '../helpers.js';
import { gitRepo } from './repos.js';

/** A repository with `n` small source files and a test command. */
function repoWith(n: number): string {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'many', scripts: { test: 'node --test' } }),
    'test/a.test.js': "require('node:test');\n",
  };
  for (let i = 0; i < n; i++) {
    files[`src/m${String(i).padStart(2, '0')}.js`] = `exports.f${i} = (x) => x + ${i};\n`;
  }
  return gitRepo(files);
}

const IDS = { planId: 'plan-15', baseSha: 'a'.repeat(40), requester: 'octocat' };

beforeEach(() => nock.disableNetConnect());
afterEach(() => nock.enableNetConnect());

describe('shardCount and budgetEach', () => {
  test('enough shards for the target, at most maxShards and the items, at least 1', () => {
    const c = (wallSecondsMax: number, maxShards: number, targetMinutes: number, items: number) =>
      shardCount({ wallSecondsMax, maxShards, targetMinutes, items });
    expect(c(3 * 3600, 8, 60, 100)).toBe(3);
    expect(c(3 * 3600 + 1, 8, 60, 100)).toBe(4);
    expect(c(3 * 3600, 2, 60, 100)).toBe(2);
    expect(c(3 * 3600, 8, 60, 2)).toBe(2);
    expect(c(0, 8, 60, 100)).toBe(1);
    expect(c(3 * 3600, 1, 60, 100)).toBe(1);
  });

  test("more shards while one shard's own dry run still reaches the agent cap or overshoots the target", async () => {
    const list = Array.from({ length: 200 }, (_, i) => `src/m${i}.js`);
    // A model of the dry run: 3 agents per item, 30 s per agent at 16-way, capped at 1000 agents.
    const estimate = async (s: PlanShards): Promise<ShardEstimate> => {
      const agents = Math.min(1000, 3 * s.slices[0]!.length);
      return {
        items: s.slices[0]!.length,
        agents: { min: agents / 3, max: agents },
        tokens: { min: 1, max: 2 },
        usd: null,
        wallSeconds: { min: 1, max: Math.ceil(agents / 16) * 30 },
        problems: [],
      };
    };
    const first: PlanShards = {
      arg: 'files',
      count: 2,
      slices: splitShards(list, 2),
      budgetEach: { tokens: null, usd: 5 },
      targetMinutes: 10,
      maxShards: 8,
    };
    const budget = { tokens: null, usd: 10, source: 'configured' as const };
    const settled = await settleShards(first, { list, budget, maxAgents: 1000, estimate });
    // 2 shards: 100 items, 300 agents, 570 s (under 600 s): kept.
    expect(settled.count).toBe(2);
    const tight = await settleShards(
      { ...first, targetMinutes: 3 },
      { list, budget, maxAgents: 1000, estimate },
    );
    // 2 shards take 570 s against 180: ×3.2 → 7 shards of 29 items, 87 agents, 180 s, which holds.
    expect(tight.count).toBe(7);
    expect(tight.slices.flat()).toEqual(list);
    expect(tight.budgetEach).toEqual({ tokens: null, usd: 1.42 });
    expect(tight.estimateEach!.wallSeconds.max).toBeLessThanOrEqual(180);
    // Capped by maxShards: it stops there, and says what one shard then costs.
    const capped = await settleShards(
      { ...first, targetMinutes: 1, maxShards: 3 },
      { list, budget, maxAgents: 1000, estimate },
    );
    expect(capped.count).toBe(3);
    expect(capped.estimateEach!.items).toBe(67);
  });

  test("each shard's budget is the run's divided by the count, rounded down", () => {
    expect(budgetEach({ tokens: 5_000_000, usd: null }, 3)).toEqual({
      tokens: 1_666_666,
      usd: null,
    });
    expect(budgetEach({ tokens: null, usd: 10 }, 3)).toEqual({
      tokens: null,
      usd: 3.33,
    });
    expect(budgetEach(undefined, 3)).toEqual({ tokens: null, usd: null });
  });
});

describe('a plan split across runners', () => {
  let sharded: Plan;
  let repo: string;

  beforeEach(async () => {
    if (sharded) return;
    repo = repoWith(40);
    sharded = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      maxShards: 3,
      shardTargetMinutes: 1,
      budget: { tokens: 3_000_000 },
    });
  }, 240_000);

  test('3 shards: the slices are splitShards of the planned files, and the script binds shard(...)', () => {
    const s = sharded.shards!;
    expect(s.count).toBe(3);
    expect(s.arg).toBe('files');
    const files = sharded.assessment.sourceFiles;
    expect(files).toHaveLength(40);
    expect(s.slices).toEqual(splitShards(files, 3));
    expect(s.slices.map((x) => x.length)).toEqual([14, 13, 13]);
    expect(s.budgetEach).toEqual({ tokens: 1_000_000, usd: null });
    const script = sharded.script!;
    expect(script).toMatch(/\nconst args = shard\(\{\n {2}"files": \[\n/);
    expect(script).toContain('}, { arg: "files", count: 3 });\n');
    expect(sharded.scriptSha256).toBe(sha256(script));
    // The same arguments as the unsharded plan would bind, through shard().
    const template = readFileSync(join(BUILTIN_DIR, 'audit.js'), 'utf8');
    const args = JSON.parse(/const args = shard\((\{[\s\S]*?\n\}), \{ arg/.exec(script)![1]!);
    expect(script).toBe(bindArgs(template, args, { arg: 'files', count: 3 }));
    expect(args.files).toEqual(files);
  });

  test("one shard's estimate comes from a dry run of the largest slice, and is smaller than the whole", () => {
    const one = sharded.shards!.estimateEach!;
    const whole = sharded.estimate!;
    expect(one.items).toBe(14);
    expect(one.problems).toEqual([]);
    expect(one.agents.max).toBeGreaterThan(0);
    expect(one.agents.max).toBeLessThan(whole.agents.max);
    expect(one.tokens.max).toBeLessThan(whole.inputTokens.max + whole.outputTokens.max);
    expect(one.wallSeconds.max).toBeLessThanOrEqual(whole.wallSeconds.max);
  });

  test('the comment shows the shards and writes their count in the marker', () => {
    const body = renderPlanComment(sharded, IDS);
    const marker = readMarker('plan', { body, user: { login: 'bot' } }, ['bot']);
    expect(marker?.shards).toBe(3);
    expect(marker?.scriptSha256).toBe(sharded.scriptSha256);
    expect(body).toContain('### Shards: 3');
    expect(body).toContain('| shard | files | from … to |');
    expect(body).toContain('| 1 | 14 | `src/m00.js` … `src/m13.js` |');
    expect(body).toContain('| 2 | 13 | `src/m14.js` … `src/m26.js` |');
    expect(body).toContain('| 3 | 13 | `src/m27.js` … `src/m39.js` |');
    expect(body).toContain('Per shard, from dry runs of shard 1 (the largest: 14 items');
    expect(body).toMatch(/- wall time: .+ \(target: under 60 s\)/);
    // Three shards of this repository still take more than a minute each: the plan says so, and why.
    expect(body).toMatch(
      /> \*\*Over the target\*\*: the busy end of a shard is above 60 s; staying under it would take \d+ shards, but `maxShards` \(3\) caps the count\./,
    );
    expect(body).toContain(
      "Each shard's budget: 1.0M tokens (the run's budget, 3.0M tokens, divided by 3); a shard stops starting agents when its share is spent.",
    );
  });

  test('each shard of the approved script runs its own slice; together they cover every file once', async () => {
    const seen: string[] = [];
    for (const index of [0, 1, 2]) {
      // The approved script up to its arguments, then what they are: the slice this shard works on.
      const script = sharded.script!;
      const bound = script.indexOf(' });\n', script.indexOf('const args = shard(')) + ' });\n'.length;
      const { summary } = await runScript(`${script.slice(0, bound)}return args.files;\n`, {
        shard: { index },
      });
      expect(summary.status).toBe('completed');
      expect(summary.result).toEqual(sharded.shards!.slices[index]);
      expect(summary.shard).toEqual({ index, count: 3 });
      seen.push(...(summary.result as string[]));
    }
    expect(seen).toEqual(sharded.assessment.sourceFiles);
  });

  test('maxShards 1 (the default) plans byte for byte what it did before sharding', async () => {
    // The same repository again (each test's temporary directories are removed after it).
    repo = repoWith(40);
    const unsharded = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      maxShards: 1,
      shardTargetMinutes: 1,
      budget: { tokens: 3_000_000 },
    });
    const byDefault = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      budget: { tokens: 3_000_000 },
    });
    expect(unsharded.shards).toBeUndefined();
    const template = readFileSync(join(BUILTIN_DIR, 'audit.js'), 'utf8');
    const args = JSON.parse(/\nconst args = (\{[\s\S]*?\n\});\n/.exec(unsharded.script!)![1]!);
    expect(unsharded.script).toBe(bindArgs(template, args));
    expect(unsharded.script).not.toContain('= shard(');
    expect(unsharded.script).toBe(byDefault.script);
    const body = renderPlanComment(unsharded, IDS);
    expect(body).toBe(renderPlanComment(byDefault, IDS));
    expect(body).not.toContain('Shards');
    expect(readMarker('plan', { body, user: { login: 'bot' } }, ['bot'])).not.toHaveProperty('shards');
    // The whole run's estimate does not change with the split.
    expect(unsharded.estimate!.agents).toEqual(sharded.estimate!.agents);
  }, 240_000);
});

describe('dwf plan --max-shards', () => {
  test('splits a run that would take over an hour on one runner; --json has the shards', async () => {
    const repo = repoWith(24);
    const out = await dwf(
      ['plan', 'audit', '--repo', repo, '--max-shards', '3', '--concurrency', '1', '--json'],
      repo,
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(plan.estimate.wallSeconds.max).toBeGreaterThan(2 * 3600);
    expect(plan.shards).toMatchObject({ arg: 'files', count: 3, targetMinutes: 60, maxShards: 3 });
    expect(plan.shards.slices.flat()).toEqual(plan.assessment.sourceFiles);
    expect(plan.script).toContain('{ arg: "files", count: 3 });');
    // In words, the terminal says where the split runs.
    const text = await dwf(
      ['plan', 'audit', '--repo', repo, '--max-shards', '3', '--concurrency', '1'],
      repo,
    );
    expect(text.stdout).toContain('### Shards: 3');
    expect(text.stdout).toContain(
      "To run it on one runner (every shard's files in one run, unsplit): `dwf run audit",
    );
  }, 240_000);

  test('a count the matrix cannot run, or not a whole number, is a usage error', async () => {
    const repo = repoWith(2);
    for (const [value, message] of [
      ['0', '--max-shards must be a whole number greater than 0, got "0"'],
      ['1.5', '--max-shards must be a whole number greater than 0, got "1.5"'],
      ['300', '--max-shards is at most 256'],
    ] as const) {
      const out = await dwf(['plan', 'audit', '--repo', repo, '--max-shards', value], repo);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(message);
    }
  });
});

describe('planning and running in one process', () => {
  test('dwf run KIND and the sweep plan unsplit, whatever maxShards says: one runner does it all', async () => {
    const { planAndRun } = await import('../../src/flows/run.js');
    const { runSettings } = await import('../../src/flows/settings.js');
    const { resolveModel } = await import('../../src/models/resolve.js');
    const { tempDir } = await import('../helpers.js');
    const repo = repoWith(12);
    const settings = runSettings(
      { repoDir: repo, runsDir: tempDir(), provider: resolveModel('sim') },
      { maxShards: 3, shardTargetMinutes: 1, isolation: 'off', oracle: { command: 'true' } },
    );
    const { plan, summary } = await planAndRun(settings, { request: 'audit' });
    expect(plan.shards).toBeUndefined();
    expect(plan.script).not.toContain('= shard(');
    expect(summary?.status).toBe('completed');
    expect(summary?.shard).toBeUndefined();
  }, 240_000);
});

describe('the configuration', () => {
  test('maxShards and shardTargetMinutes reach the settings the planner gets; bad values are named', async () => {
    const { parseConfig } = await import('../../src/github/config.js');
    const { runSettings } = await import('../../src/flows/settings.js');
    const { resolveModel } = await import('../../src/models/resolve.js');
    const place = { repoDir: '.', provider: resolveModel('sim') };
    const defaults = parseConfig({});
    expect(defaults.ok && [defaults.config.maxShards, defaults.config.shardTargetMinutes]).toEqual([1, 60]);
    const parsed = parseConfig({ maxShards: 4, shardTargetMinutes: 30 });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const settings = runSettings(place, parsed.config);
    expect([settings.maxShards, settings.shardTargetMinutes]).toEqual([4, 30]);
    for (const [raw, field] of [
      [{ maxShards: 0 }, '`maxShards`'],
      [{ maxShards: 257 }, '`maxShards`'],
      [{ maxShards: 2.5 }, '`maxShards`'],
      [{ shardTargetMinutes: 0 }, '`shardTargetMinutes`'],
    ] as const) {
      const bad = parseConfig(raw);
      expect(bad.ok).toBe(false);
      expect(bad.ok ? '' : bad.problems.join('\n')).toContain(field);
    }
  });
});

describe('the shards table', () => {
  test("a file's name cannot break its cell: backticks, pipes and line breaks are made harmless", async () => {
    const { renderPlan } = await import('../../src/report/plan.js');
    const plan = {
      request: { kind: 'audit', text: 'audit' },
      assessment: {
        files: 3,
        lines: 3,
        sourceFiles: [],
        testFiles: 0,
        excluded: [],
        languages: [],
        oracle: null,
      },
      verdict: { decision: 'workflow', reasons: [] },
      questions: [],
      script: null,
      scriptSha256: null,
      estimate: null,
      shards: {
        arg: 'files',
        count: 2,
        slices: [['a`b|c.js', 'x\ny.js'], ['z.js']],
        budgetEach: { tokens: 10, usd: null },
        targetMinutes: 60,
        maxShards: 2,
      },
    } as unknown as Plan;
    const text = renderPlan(plan);
    expect(text).toContain("| 1 | 2 | `a'b\\|c.js` … `x y.js` |");
    expect(text).toContain('| 2 | 1 | `z.js` |');
  });
});

describe('shardedBudget', () => {
  const shards = (usdMax: number | null): PlanShards => ({
    arg: 'files',
    count: 4,
    slices: [['a'], ['b'], ['c'], ['d']],
    budgetEach: { tokens: null, usd: 2.66 },
    targetMinutes: 60,
    maxShards: 8,
    estimateEach: {
      items: 1,
      agents: { min: 1, max: 551 },
      tokens: { min: 1, max: 1_000_000 },
      usd: usdMax === null ? null : { min: 1, max: usdMax },
      wallSeconds: { min: 1, max: 2400 },
      problems: [],
    },
  });

  test("a budget derived from the capped whole-run estimate is derived again from one shard's", () => {
    const derived = { usd: 10.66, tokens: null, source: 'estimate' as const, margin: 1.5 };
    const { budget, shards: split } = shardedBudget(derived, shards(3.43));
    // One shard's maximum × the margin, in cents, times 4: each shard gets what its own estimate needs.
    expect(budget).toEqual({ usd: 20.6, tokens: null, source: 'estimate', margin: 1.5, shards: 4 });
    expect(split.budgetEach).toEqual({ tokens: null, usd: 5.15 });
    expect(budgetLine({ budget } as never)).toBe(
      "Budget: $20.60, the estimate's maximum × 1.5 for one shard, times 4 shards (no budget is configured); the run stops starting agents when it is spent.",
    );
    // The plan comment's line still reads back as the run's budget.
    expect(estimateOf(budgetLine({ budget } as never)!).budget).toMatchObject({ usd: 20.6, margin: 1.5 });
  });

  test('a configured budget, or a derived one already larger, stays as it is', () => {
    const configured = { usd: 8, tokens: null, source: 'configured' as const };
    expect(shardedBudget(configured, shards(3.43)).budget).toBe(configured);
    const larger = { usd: 40, tokens: null, source: 'estimate' as const, margin: 1.5 };
    expect(shardedBudget(larger, shards(3.43)).budget).toBe(larger);
  });
});
