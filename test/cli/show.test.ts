import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';

function io(cwd: string) {
  const out = { stdout: '', stderr: '' };
  const cli: CliIo = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env: { PATH: process.env.PATH },
    cwd,
  };
  return { out, cli };
}

async function dwf(cwd: string, ...argv: string[]) {
  const { out, cli } = io(cwd);
  const code = await main(argv, cli);
  return { code, ...out };
}

describe("dwf runs and dwf show on the demo's run", () => {
  let cwd: string;
  let runId: string;
  // Not tempDir(): the helpers remove those after each test, and these tests share one demo run.
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'dwf-show-'));
    const demo = await dwf(cwd, 'demo', '--runs-dir', 'runs', '--json');
    expect(demo.code).toBe(0);
    runId = JSON.parse(demo.stdout).runId;
    // A second run, smaller, and newer.
    writeFileSync(
      join(cwd, 'tiny.js'),
      "export const meta = { name: 'tiny', description: 't' };\nreturn await agent('hi');\n",
    );
    expect((await dwf(cwd, 'run', 'tiny.js', '--runs-dir', 'runs', '--json')).code).toBe(0);
  }, 90_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('dwf runs lists them newest first, with workflow, status, agents, tokens, cost, start and duration', async () => {
    const { code, stdout } = await dwf(cwd, 'runs', '--runs-dir', 'runs');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+AGENTS\s+TOKENS\s+COST\s+STARTED\s+DURATION$/);
    expect(lines[1]).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}\s+tiny\s+completed\s+1\s+/);
    expect(lines[2]).toMatch(
      new RegExp(
        `^${runId}\\s+audit\\s+completed\\s+16\\s+\\S+k\\s+\\$ unknown\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+\\d`,
      ),
    );
    const json = JSON.parse((await dwf(cwd, 'runs', '--runs-dir', 'runs', '--json')).stdout);
    expect(json[1]).toMatchObject({ runId, workflow: 'audit', status: 'completed', agents: 16, usd: null });
    expect(json[1].tokens).toBeGreaterThan(1000);
  });

  test("dwf show RUN: phases, agents, and for the refuted finding the verifier's reasoning and agents", async () => {
    const { code, stdout } = await dwf(cwd, 'show', runId, '--runs-dir', 'runs');
    expect(code).toBe(0);
    expect(stdout).toContain(`audit · run ${runId} · completed · 16 agents`);
    expect(stdout).toMatch(/^Verify · 4 agents \(4 done\)/m);
    expect(stdout).toContain('  #5 verify src/auth.js:10  done · 2 turns');
    const refuted = stdout.slice(stdout.indexOf('  refuted  src/auth.js:10'));
    expect(refuted).toContain(
      'why: No token is compared character by character: userFor looks the token up with Map.get',
    );
    expect(refuted).toContain('agents: #0 find src/auth.js (done), #5 verify src/auth.js:10 (done)');
  });

  test("dwf show RUN AGENT: the verifier's transcript, by label or number, readably and as JSON", async () => {
    const byLabel = await dwf(cwd, 'show', runId, 'verify src/auth.js:10', '--runs-dir', 'runs');
    const byNumber = await dwf(cwd, 'show', runId, '5', '--runs-dir', 'runs');
    expect(byLabel.code).toBe(0);
    expect(byNumber.stdout).toBe(byLabel.stdout);
    const text = byLabel.stdout;
    expect(text).toContain(`transcript: runs/${runId}/transcripts.jsonl (agent 5)`);
    expect(text).toContain('── prompt (tools: list_files, read_file');
    expect(text).toContain('You are an adversarial reviewer.');
    expect(text).toContain('  → read_file {"path":"src/auth.js"}');
    expect(text).toContain('    │ 10:   return tokens.get(token);');
    expect(text).toMatch(/── answer · 2 turns/);
    expect(text).toContain('"confirmed": false');
    expect(text).toContain('"evidence": "No token is compared character by character');

    const json = JSON.parse((await dwf(cwd, 'show', runId, '#5', '--runs-dir', 'runs', '--json')).stdout);
    expect(json.agent).toMatchObject({
      index: 5,
      label: 'verify src/auth.js:10',
      phase: 'Verify',
      status: 'done',
    });
    expect(json.transcript.at(-1)).toMatchObject({ type: 'end', result: { confirmed: false } });
  });

  test('RUN may be last; a part of a label names one agent, else the choices are listed', async () => {
    const last = await dwf(cwd, 'show', 'last', '--runs-dir', 'runs');
    expect(last.stdout).toMatch(/^tiny · run /);
    expect((await dwf(cwd, 'show', runId, 'recheck src/store', '--runs-dir', 'runs')).stdout).toContain(
      '#14 recheck src/store.js:25',
    );
    const ambiguous = await dwf(cwd, 'show', runId, 'verify', '--runs-dir', 'runs');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(
      '"verify" names 4 agents: #5 verify src/auth.js:10, #6 verify src/files.js:9',
    );
    const bad = await dwf(cwd, 'show', 'nope', '--runs-dir', 'runs');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a run id');
    const missing = await dwf(cwd, 'show', '20200101-000000-abcdef', '--runs-dir', 'runs');
    expect(missing.stderr).toContain('no run "20200101-000000-abcdef"');
  });

  test('a run without result.json (killed) is unfinished, and --trace writes its page from what it recorded', async () => {
    const tiny = JSON.parse((await dwf(cwd, 'run', 'tiny.js', '--runs-dir', 'killed', '--json')).stdout);
    rmSync(join(tiny.runDir, 'result.json'));
    rmSync(join(tiny.runDir, 'usage.json'));
    rmSync(join(tiny.runDir, 'trace.html'));
    const listed = JSON.parse((await dwf(cwd, 'runs', '--runs-dir', 'killed', '--json')).stdout);
    expect(listed).toEqual([
      expect.objectContaining({ runId: tiny.runId, workflow: 'tiny', status: 'unfinished', agents: 1 }),
    ]);
    const written = await dwf(cwd, 'show', tiny.runId, '--trace', '--runs-dir', 'killed');
    expect(written.stdout).toBe(`killed/${tiny.runId}/trace.html\n`);
    const page = readFileSync(join(tiny.runDir, 'trace.html'), 'utf8');
    expect(page).toContain('<b>unfinished</b>');
    expect(page).toContain('"prompt":"hi"');
  });
});
