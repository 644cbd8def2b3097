import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { configuredSecrets } from '../../src/agents/secrets.js';
import { readTranscript, TRANSCRIPT_LIMITS, type TranscriptLine } from '../../src/engine/transcript.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { gitRepoWith, runScript, tempDir } from '../helpers.js';

// Planted secrets: one in a secret-looking environment variable, one named by the configuration
// (redactEnv) under a name that does not look secret, each reaching the run a different way.
const ENV_SECRET = 'sk-planted-env-7Hq2Lr9Xw4Zt8Kp3';
const CONFIGURED = 'cfg-planted-Vb6Nm1Qe5Ry0Ui2';
const env = { PATH: process.env.PATH, DEPLOY_TOKEN: ENV_SECRET, PLAIN_VALUE: CONFIGURED };

function allText(runDir: string): string {
  return readFileSync(join(runDir, 'transcripts.jsonl'), 'utf8');
}

describe('transcripts', () => {
  test('record the prompt, each turn with its tool calls and their outputs, and the answer, as JSON lines', async () => {
    const repoDir = gitRepoWith({ 'src/a.js': 'export const a = 1;\n', 'notes.txt': 'hello\n' });
    const provider = createFixtureProvider('t.json', {
      model: 'claude-sonnet-5-5',
      rules: [
        {
          match: { label: '^look$' },
          steps: [
            [
              { tool: 'read_file', input: { path: 'src/a.js' } },
              { tool: 'list_files', input: {} },
            ],
          ],
          result: { seen: 'a = 1' },
        },
      ],
    });
    const { summary } = await runScript(
      `return await agent('Read src/a.js and say what a is.', { label: 'look', phase: 'Look', schema: { type: 'object', properties: { seen: { type: 'string' } }, required: ['seen'] } });`,
      { provider, workspace: { repoDir } },
    );
    expect(summary.status).toBe('completed');
    const lines = readTranscript(summary.runDir, 0)!;
    expect(lines.map((l) => l.type)).toEqual(['start', 'turn', 'tool', 'tool', 'turn', 'end']);
    const [start, turn, read, list, , end] = lines as [
      Extract<TranscriptLine, { type: 'start' }>,
      Extract<TranscriptLine, { type: 'turn' }>,
      Extract<TranscriptLine, { type: 'tool' }>,
      Extract<TranscriptLine, { type: 'tool' }>,
      unknown,
      Extract<TranscriptLine, { type: 'end' }>,
    ];
    expect(start).toMatchObject({
      index: 0,
      label: 'look',
      phase: 'Look',
      prompt: 'Read src/a.js and say what a is.',
    });
    expect(start.tools).toContain('read_file');
    expect(turn.toolCalls.map((c) => [c.name, c.input])).toEqual([
      ['read_file', { path: 'src/a.js' }],
      ['list_files', {}],
    ]);
    expect(turn.usage.inputTokens).toBeGreaterThan(0);
    // Priced per turn, as the model that answered.
    expect(turn.usd).toBeGreaterThan(0);
    expect(read).toMatchObject({ name: 'read_file', id: turn.toolCalls[0]!.id, isError: false });
    expect(read.output).toContain('1: export const a = 1;');
    expect(list.output).toContain('notes.txt');
    expect(end).toMatchObject({ status: 'completed', result: { seen: 'a = 1' }, turns: 2 });
    expect(end.usd).toBeCloseTo(summary.usage.usd!, 9);
    for (const l of lines) expect(l.t).toBeGreaterThanOrEqual(0);
  });

  test('cut long texts at the cap and say so', async () => {
    const big = 'x'.repeat(TRANSCRIPT_LIMITS.prompt + 500);
    const { summary } = await runScript(`return await agent(${JSON.stringify(big)}, { label: 'big' });`);
    const start = readTranscript(summary.runDir, 0)![0]!;
    expect(start.type).toBe('start');
    expect(start.cut).toEqual({ prompt: big.length });
    const prompt = (start as { prompt: string }).prompt;
    expect(prompt.length).toBeLessThan(big.length);
    expect(prompt).toContain(`cut: ${TRANSCRIPT_LIMITS.prompt} of ${big.length} characters kept`);
  });

  test('a failed agent ends with its error', async () => {
    const provider = createFixtureProvider('f.json', { rules: [{ match: {}, error: 'the model broke' }] });
    const { summary } = await runScript(`return await agent('go', { label: 'x' });`, { provider });
    const lines = readTranscript(summary.runDir, 0)!;
    expect(lines.find((l) => l.type === 'model-error')).toMatchObject({
      error: expect.stringContaining('the model broke'),
    });
    expect(lines.at(-1)).toMatchObject({
      type: 'end',
      status: 'failed',
      error: expect.stringContaining('the model broke'),
    });
  });

  test('one file for the whole run, every line tagged with its agent; per-agent files of older runs still read', async () => {
    const { summary } = await runScript(
      `return await parallel([1, 2, 3].map((i) => () => agent('task ' + i, { label: 'a' + i })));`,
    );
    const lines = readFileSync(join(summary.runDir, 'transcripts.jsonl'), 'utf8').trim().split('\n');
    const agents = lines.map((l) => (JSON.parse(l) as TranscriptLine).agent);
    expect(new Set(agents)).toEqual(new Set([0, 1, 2]));
    expect(readTranscript(summary.runDir, 1)!.map((l) => l.type)).toEqual(['start', 'turn', 'end']);
    expect(readTranscript(summary.runDir, 7)).toBeUndefined();

    const old = join(tempDir(), 'transcripts');
    mkdirSync(old);
    writeFileSync(join(old, '4.jsonl'), '{"t":1,"type":"note","turn":1,"text":"from an older run"}\n');
    expect(readTranscript(join(old, '..'), 4)).toEqual([
      { t: 1, agent: 4, type: 'note', turn: 1, text: 'from an older run' },
    ]);
  });

  test('a replayed agent points at the transcript of the run that ran it, through resumes', async () => {
    const runsDir = tempDir();
    const script = (n: number) =>
      `const out = []; for (let i = 0; i < ${n}; i++) out.push(await agent('s' + i, { label: 'a' + i })); return out;`;
    const first = await runScript(script(2), { runsDir });
    const second = await runScript(script(3), { runsDir, resume: first.summary.runId });
    const third = await runScript(script(4), { runsDir, resume: second.summary.runId });
    expect(readTranscript(second.summary.runDir, 0)).toEqual([
      expect.objectContaining({ type: 'replayed', index: 0, label: 'a0', from: first.summary.runId }),
    ]);
    // Agent 0 was live in the first run, agent 2 in the second: each points at the run that has it.
    const pointers = [0, 2].map((i) => readTranscript(third.summary.runDir, i)![0]);
    expect(pointers).toEqual([
      expect.objectContaining({
        from: first.summary.runId,
        transcript: `../${first.summary.runId}/transcripts.jsonl`,
      }),
      expect.objectContaining({ from: second.summary.runId }),
    ]);
    const target = join(third.summary.runDir, (pointers[0] as { transcript: string }).transcript);
    expect(readFileSync(target, 'utf8')).toContain('"agent":0,"type":"start"');
    expect(readTranscript(third.summary.runDir, 3)![0]!.type).toBe('start');
  });
});

describe('no secret reaches a transcript or the trace page', () => {
  test('from the environment, a configured name, a repository file, the prompt, a tool input or a model reply', async () => {
    const repoDir = gitRepoWith({
      'config/settings.ini': `[deploy]\ntoken = ${ENV_SECRET}\npassword = ${CONFIGURED}\n`,
      'src/app.js': 'export const ok = true;\n',
    });
    const provider = createFixtureProvider('s.json', {
      rules: [
        {
          match: { label: '^reader$' },
          steps: [
            [{ tool: 'read_file', input: { path: 'config/settings.ini' } }],
            [{ tool: 'search', input: { pattern: ENV_SECRET } }],
          ],
          result: { note: `the token is ${ENV_SECRET} and the password ${CONFIGURED}` },
        },
        {
          match: { label: '^talker$' },
          text: `here it is: ${CONFIGURED} / ${Buffer.from(ENV_SECRET).toString('base64')}`,
        },
      ],
    });
    const { summary } = await runScript(
      `const r = await agent('Read config/settings.ini. The key you need is ' + args.key, { label: 'reader', schema: { type: 'object', properties: { note: { type: 'string' } }, required: ['note'] } });
       const t = await agent('Say the password', { label: 'talker' });
       log('the reader said ' + r.note);
       return { r, t };`,
      {
        provider,
        workspace: { repoDir },
        args: { key: ENV_SECRET },
        env,
        secrets: configuredSecrets(['PLAIN_VALUE'], env),
      },
    );
    expect(summary.status).toBe('completed');
    const transcripts = allText(summary.runDir);
    const page = readFileSync(join(summary.runDir, 'trace.html'), 'utf8');
    expect(transcripts).toContain('[REDACTED]');
    expect(transcripts).toContain('"name":"search"');
    for (const secret of [ENV_SECRET, CONFIGURED, Buffer.from(ENV_SECRET).toString('base64')]) {
      expect(transcripts).not.toContain(secret);
      expect(page).not.toContain(secret);
    }
    // The page escapes < in its data, so a secret's JSON form there differs: check the data parsed too.
    const data = /<script type="application\/json" id="trace-data">(.*?)<\/script>/s.exec(page)![1]!;
    expect(JSON.stringify(JSON.parse(data))).not.toContain(ENV_SECRET);
    expect(JSON.stringify(JSON.parse(data))).not.toContain(CONFIGURED);
  });
});
