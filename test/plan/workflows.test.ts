import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { runWorkflow } from '../../src/engine/run.js';
import { savedWorkflows } from '../../src/engine/saved-workflows.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { createSimProvider } from '../../src/models/sim.js';
import type { ModelProvider, ModelRequest } from '../../src/models/types.js';
import { AuthoringError, authorScript } from '../../src/plan/author.js';
import { estimateScript } from '../../src/plan/estimate.js';
import { BUILTIN_DIR, bindArgs, createPlan } from '../../src/plan/plan.js';
import { checkScript } from '../../src/script/check.js';
import { tempDir } from '../helpers.js';
import { gitInit } from './repos.js';

const root = join(import.meta.dirname, '..', '..');
const KINDS = ['audit', 'bug-hunt', 'sweep', 'migrate', 'research'] as const;

function exampleRepo(): string {
  const dir = tempDir('dwf-example-');
  cpSync(join(root, 'examples', 'api'), dir, { recursive: true });
  return gitInit(dir);
}

function builtin(kind: string): string {
  return readFileSync(join(BUILTIN_DIR, `${kind}.js`), 'utf8');
}

describe('the built-in workflows', () => {
  test.each(KINDS)('%s validates', (kind) => {
    const checked = checkScript(builtin(kind));
    expect(checked.ok).toBe(true);
    expect(checked.meta?.name).toBe(kind);
  });

  test.each(KINDS)(
    '%s runs end to end on the example repository through sim, its tests judging',
    async (kind) => {
      const repo = exampleRepo();
      const plan = await createPlan({
        repoDir: repo,
        request:
          kind === 'migrate'
            ? 'migrate CommonJS to ESM'
            : kind === 'research'
              ? 'research where is access checked?'
              : kind,
        model: 'claude-sonnet-5-5',
      });
      expect(plan.script).not.toBeNull();
      const events: RunEvent[] = [];
      const summary = await runWorkflow({
        source: plan.script!,
        file: `${kind}.js`,
        provider: createSimProvider({ latencyMs: 0, seed: 1, items: 1, world: 'random' }),
        runsDir: tempDir(),
        workspace: { repoDir: repo, oracle: { command: 'node --test', timeoutSeconds: 60 } },
        workflows: savedWorkflows({ repoDir: repo, builtinDir: BUILTIN_DIR }),
        env: { PATH: process.env.PATH },
        onEvent: (e) => events.push(e),
      });
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('completed');
      const oracles = events.filter((e) => e.type === 'oracle');
      if (kind !== 'research')
        expect(oracles[0]).toMatchObject({ passed: false, summary: '3 passed, 4 failed' });
      const labels = events
        .filter((e) => e.type === 'agent.started')
        .map((e) => (e as { label?: string }).label ?? '');
      expect(labels.some((l) => /^(verify|check) /.test(l))).toBe(true);
      expect(labels[labels.length - 1]).toBe('synthesize');
    },
  );

  test("the verifier runs in a fresh context: its request holds none of the finder's conversation", async () => {
    const repo = exampleRepo();
    const fixture = createFixtureProvider(join(root, 'examples', 'workflows', 'audit.replies.json'));
    const requests: ModelRequest[] = [];
    const recording: ModelProvider = {
      ...fixture,
      complete: (request) => {
        requests.push(structuredClone({ ...request, signal: undefined }) as unknown as ModelRequest);
        return fixture.complete(request);
      },
    };
    const plan = await createPlan({ repoDir: repo, request: 'audit', model: 'claude-sonnet-5-5' });
    const summary = await runWorkflow({
      source: plan.script!,
      file: 'audit.js',
      provider: recording,
      runsDir: tempDir(),
      workspace: { repoDir: repo, oracle: { command: 'node --test', timeoutSeconds: 60 } },
      workflows: savedWorkflows({ repoDir: repo, builtinDir: BUILTIN_DIR }),
      env: { PATH: process.env.PATH },
    });
    expect(summary.status).toBe('completed');
    const finder = requests.filter((r) => r.agent.label === 'find src/files.js').pop()!;
    const finderSaw = JSON.stringify(finder.messages.slice(1));
    expect(finderSaw).toContain('<file path=\\"src/files.js\\"');
    const verifierFirst = requests.find((r) => r.agent.label === 'verify src/files.js:9')!;
    expect(verifierFirst.messages).toHaveLength(1);
    expect(JSON.stringify(verifierFirst.messages)).not.toContain('<file path=');
    expect(JSON.stringify(verifierFirst.messages)).not.toContain('read_file');
  });
});

describe('the estimate', () => {
  async function actualSimRun(source: string) {
    return runWorkflow({
      source,
      file: 'plan.js',
      provider: createSimProvider({
        latencyMs: 1,
        seed: 3,
        items: 1,
        world: 'random',
        as: 'claude-sonnet-5-5',
      }),
      runsDir: tempDir(),
      dryRun: { oraclePasses: false },
      workflows: savedWorkflows({ repoDir: tempDir(), builtinDir: BUILTIN_DIR }),
      env: {},
    });
  }

  test.each(['audit', 'bug-hunt', 'migrate'])(
    'its range contains an actual sim run of %s: agents within the range, tokens within 30 percent',
    async (kind) => {
      const files = Array.from({ length: 12 }, (_, i) => `src/module${i}.js`);
      const source = bindArgs(builtin(kind), {
        files,
        rounds: 2,
        ...(kind === 'migrate' ? { target: 'ESM' } : {}),
      });
      const estimate = await estimateScript({
        source,
        file: 'plan.js',
        model: 'claude-sonnet-5-5',
        concurrency: 16,
        maxAgents: 1000,
      });
      const actual = await actualSimRun(source);
      expect(actual.status).toBe('completed');
      expect(estimate.problems).toEqual([]);
      const agents = actual.usage.agents;
      expect(agents).toBeGreaterThanOrEqual(estimate.agents.min);
      expect(agents).toBeLessThanOrEqual(estimate.agents.max);
      const input = actual.usage.inputTokens + actual.usage.cacheReadTokens + actual.usage.cacheWriteTokens;
      expect(input).toBeGreaterThanOrEqual(estimate.inputTokens.min * 0.7);
      expect(input).toBeLessThanOrEqual(estimate.inputTokens.max * 1.3);
      expect(actual.usage.outputTokens).toBeLessThanOrEqual(estimate.outputTokens.max * 1.3);
      expect(estimate.usd!.max).toBeGreaterThan(estimate.usd!.min);
      expect(estimate.wallSeconds.max).toBeGreaterThanOrEqual(estimate.wallSeconds.min);
    },
  );

  test('a deterministic script is estimated exactly; an estimate above the budget is flagged', async () => {
    const source = `export const meta = { name: 'fixed', description: 'twenty agents, then one' };
const parts = await parallel(Array.from({ length: 20 }, (_, i) => () => agent('part ' + i, { label: 'part' })));
return await agent('join ' + parts.length, { label: 'join' });`;
    const estimate = await estimateScript({
      source,
      file: 'plan.js',
      model: 'claude-sonnet-5-5',
      concurrency: 4,
      maxAgents: 1000,
      budget: { tokens: 100 },
    });
    expect(estimate.agents).toEqual({ min: 21, max: 21 });
    expect(estimate.inputTokens.min).toBe(estimate.inputTokens.max);
    // 20 agents at 4 at a time take five steps, then the join: six minutes at a minute an agent.
    expect(estimate.wallSeconds).toEqual({ min: 360, max: 360 });
    expect(estimate.overBudget).toEqual({ tokens: true });
    const actual = await actualSimRun(source);
    expect(actual.usage.agents).toBe(21);
  });
});

describe('model-written scripts', () => {
  const assessment = {
    files: 3,
    lines: 30,
    languages: [{ language: 'JavaScript', files: 3, lines: 30 }],
    sourceFiles: ['src/a.js', 'src/b.js', 'src/c.js'],
    sourceTokens: 90,
    testFiles: 1,
    excluded: [],
    oracle: { command: 'npm test', source: 'package.json scripts.test' },
  };
  const META = "export const meta = { name: 'x', description: 'y' };";
  const IMPORTS = `${META}\nimport fs from 'fs';\nreturn 1;`;
  const TOO_MANY = `${META}\nawait parallel(Array.from({ length: 1200 }, (_, i) => () => agent('t' + i, { label: 'verify ' + i })));`;
  const NO_VERIFIER = `${META}\nconst r = await agent('fix everything', { label: 'fixer' });\nreturn r;`;
  const GOOD = `${META}\nconst fix = await agent('fix src/a.js', { label: 'fix' });\nconst check = await agent('check the fix: ' + fix, { label: 'verify fix' });\nawait oracle();\nreturn { findings: [], summary: check };`;

  function author(rules: Array<{ prompt?: string; script: string }>) {
    const requests: string[] = [];
    const fixture = createFixtureProvider('author.json', {
      rules: rules.map((r) => ({
        match: r.prompt ? { prompt: r.prompt } : {},
        result: { script: r.script },
      })),
    });
    const provider: ModelProvider = {
      ...fixture,
      complete: (request) => {
        requests.push(String(request.messages[0]?.content));
        return fixture.complete(request);
      },
    };
    return { provider, requests };
  }

  test('an import, more than 1000 agents, or no verifier is rejected with the reason, and the script written again', async () => {
    const { provider, requests } = author([
      { prompt: 'Attempt 3 was rejected', script: GOOD },
      { prompt: 'Attempt 2 was rejected', script: NO_VERIFIER },
      { prompt: 'Attempt 1 was rejected', script: TOO_MANY },
      { script: IMPORTS },
    ]);
    const written = await authorScript({
      provider,
      request: 'tidy up the error handling',
      assessment,
      maxAgents: 1000,
      concurrency: 16,
      model: 'claude-sonnet-5-5',
      maxAttempts: 4,
    });
    expect(written.script).toBe(GOOD);
    expect(written.attempts.map((a) => a.rejected)).toEqual([
      'the script does not check: plan.js:2:1: `import` is not allowed: workflow scripts have no modules; agents do all I/O',
      'the script starts more than 1000 agents when every agent finds something; cap its loops and fan-outs',
      'the script has no verifier for its changes: add an independent agent that checks each result in a fresh context (label or phase containing "verify"), and run oracle() after changes',
      undefined,
    ]);
    expect(requests[3]).toContain('Attempt 3 was rejected: <rejection>\nthe script has no verifier');
    expect(requests[0]).toContain('<request>\ntidy up the error handling\n</request>');
  });

  test('the regeneration loop is bounded', async () => {
    const { provider, requests } = author([{ script: NO_VERIFIER }]);
    const failure = authorScript({
      provider,
      request: 'x',
      assessment,
      maxAgents: 1000,
      concurrency: 16,
      model: 'claude-sonnet-5-5',
    });
    await expect(failure).rejects.toThrow(AuthoringError);
    await expect(failure).rejects.toThrow(
      /^no acceptable script after 3 attempts; the last was rejected because the script has no verifier/,
    );
    expect(requests).toHaveLength(3);
  });
});
