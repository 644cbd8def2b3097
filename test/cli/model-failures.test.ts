import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { gitRepoWith } from '../helpers.js';

// Issue 12, "Runs that report success when they failed", through the real binary (bin/dwf.js over
// dist/: `npm run build` first) against a model endpoint that cannot be reached or fails some calls.

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'dwf.js');
const MODEL = 'anthropic:claude-sonnet-5-5';

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds from the start to each retry line on stderr, and to the exit. */
  retryLinesAt: number[];
  exitedAt: number;
}

function dwf(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    const retryLinesAt: number[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      for (const _ of String(chunk).matchAll(/↻/g)) retryLinesAt.push(Date.now() - started);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, retryLinesAt, exitedAt: Date.now() - started });
    });
  });
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** A port nothing listens on: a server is opened there and closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * A stand-in for the Messages API: a request whose prompt says `please fail` gets a 500 (with a
 * 1 ms retry-after, so the retries are quick), one that says `no key` a 401; the others an answer.
 */
async function modelServer(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push(body);
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      if (body.includes('no key'))
        return json(401, {
          type: 'error',
          error: { type: 'authentication_error', message: 'invalid x-api-key' },
        });
      if (body.includes('please fail'))
        return json(
          500,
          { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
          { 'retry-after-ms': '1' },
        );
      json(200, {
        id: `msg_${requests.length}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [{ type: 'text', text: 'done' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: 10,
          output_tokens: 2,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      });
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const ONE_AGENT = `export const meta = { name: 'one', description: 'one agent', phases: [{ title: 'Only' }] };
phase('Only');
return await agent('say hello', { label: 'hello' });
`;

const FIVE_AGENTS = (
  tasks: string[],
) => `export const meta = { name: 'five', description: 'five agents', phases: [{ title: 'Only' }] };
phase('Only');
const answers = [];
for (const task of ${JSON.stringify(tasks)}) answers.push(await agent(task, { label: task }));
return { findings: answers.filter(Boolean).map((a, i) => ({ title: 'answer ' + i })) };
`;

const env = (url: string) => ({ ANTHROPIC_API_KEY: 'sk-ant-test-key', ANTHROPIC_BASE_URL: url });

describe('a model that cannot be reached', () => {
  test('each retry is printed as it is scheduled, and the run fails in seconds with why, exit 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const repo = gitRepoWith({ 'one.js': ONE_AGENT });
    const [plain, json] = await Promise.all([
      dwf(['run', 'one.js', '--model', MODEL, '--runs-dir', 'runs'], repo, env(url)),
      dwf(['run', 'one.js', '--model', MODEL, '--runs-dir', 'runs', '--json'], repo, env(url)),
    ]);

    expect(plain.code).toBe(1);
    const retries = plain.stderr.split('\n').filter((l) => l.includes('↻'));
    expect(retries).toHaveLength(4);
    retries.forEach((line, i) => {
      expect(line).toMatch(
        new RegExp(`^ {2}↻ agent #0 hello: Connection error — retry ${i + 1} of 4 in \\d+(\\.\\d)? (ms|s)$`),
      );
    });
    // As they happen: the first retry is told seconds before the run ends (the waits add up to 3.75 s at least).
    expect(plain.exitedAt - plain.retryLinesAt[0]!).toBeGreaterThan(3000);
    expect(plain.exitedAt).toBeLessThan(30_000);
    expect(plain.stderr).toMatch(/\nfailed: 1 agent, 1 failed \(Connection error\) · /);
    expect(plain.stderr).toContain(
      `error: every agent failed: the model API at ${url} could not be reached (Connection error) — check the network, ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY\n`,
    );
    expect(plain.stdout).toBe('');

    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    const outcome = JSON.parse(json.stdout);
    expect(outcome).toMatchObject({
      status: 'failed',
      failedAgents: 1,
      failures: { 'Connection error': 1 },
      error: expect.stringMatching(/^every agent failed: the model API at .* could not be reached/),
    });
    const report = readFileSync(outcome.reportPath, 'utf8');
    expect(report).toMatch(/^# one: failed\n/);
    expect(report).toContain(
      'No findings were reported; 1 of 1 agent failed (Connection error): see Failures.',
    );
    expect(report).toContain('## Failures\n\n1 of 1 agent failed, and none succeeded.');
    expect(report).toContain('Model calls were retried 4 times in all.');
    expect(report).toContain('| 1 | Connection error |');
    expect(report.indexOf('## Failures')).toBeGreaterThan(report.indexOf('## Findings'));
    const result = JSON.parse(readFileSync(join(outcome.runDir, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ status: 'failed', failedAgents: 1 });
  }, 60_000);

  test('with many agents, the first that gives up stops the others: they would fail alike', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const repo = gitRepoWith({
      'many.js': `export const meta = { name: 'many', description: 'eight agents at once' };
const answers = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => agent('task ' + i)));
return answers;
`,
    });
    const run = await dwf(
      ['run', 'many.js', '--model', MODEL, '--runs-dir', 'runs', '--json'],
      repo,
      env(url),
    );
    expect(run.code).toBe(1);
    const outcome = JSON.parse(run.stdout);
    expect(outcome.status).toBe('failed');
    expect(outcome.failedAgents).toBeGreaterThanOrEqual(1);
    expect(outcome.error).toMatch(
      /could not be reached \(Connection error\) — check .*; the run was stopped before any agent succeeded \(\d failed, \d stopped\), since the others would have failed alike$/,
    );
    // One agent's four retries, not eight agents' twelve.
    expect(run.exitedAt).toBeLessThan(30_000);
  }, 60_000);

  test('a refused key fails the run at once, naming the key to check', async () => {
    const server = await modelServer();
    const repo = gitRepoWith({ 'five.js': FIVE_AGENTS(['no key one', 'two', 'three', 'four', 'five']) });
    const run = await dwf(['run', 'five.js', '--model', MODEL, '--runs-dir', 'runs'], repo, env(server.url));
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('↻');
    expect(run.stderr).toContain(
      'error: every agent failed: the model API refused the key (API error 401) — check ANTHROPIC_API_KEY\n',
    );
    expect(server.requests).toHaveLength(1);
  }, 60_000);
});

describe('a model that fails some agents', () => {
  test('2 of 5 failed after their retries: completed, with how many and why in the summary, --json and the report', async () => {
    const server = await modelServer();
    const repo = gitRepoWith({
      'five.js': FIVE_AGENTS(['one', 'two', 'please fail three', 'four', 'please fail five']),
    });
    const run = await dwf(['run', 'five.js', '--model', MODEL, '--runs-dir', 'runs'], repo, env(server.url));
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n').filter((l) => l.includes('↻'))).toHaveLength(24);
    expect(run.stderr).toContain('  ↻ agent #2 please fail three: API error 500 — retry 12 of 12 in 1 ms\n');
    expect(run.stderr).toMatch(/\ncompleted: 5 agents, 2 failed \(API error 500 ×2\) · /);
    expect(JSON.parse(run.stdout).findings).toHaveLength(3);

    const json = await dwf(
      ['run', 'five.js', '--model', MODEL, '--runs-dir', 'runs', '--json'],
      repo,
      env(server.url),
    );
    expect(json.code).toBe(0);
    const outcome = JSON.parse(json.stdout);
    expect(outcome).toMatchObject({ status: 'completed', failedAgents: 2, failures: { 'API error 500': 2 } });
    const report = readFileSync(outcome.reportPath, 'utf8');
    expect(report).toMatch(/^# five: completed\n/);
    expect(report).toContain('## Failures\n\n2 of 5 agents failed; 3 succeeded.');
    expect(report).toContain('Model calls were retried 24 times in all.');
    expect(report).toContain('| 2 | API error 500 |');
  }, 60_000);

  test('5xx before any answer: the model cannot be used, so the run fails at the first agent that gives up', async () => {
    const server = await modelServer();
    const repo = gitRepoWith({ 'five.js': FIVE_AGENTS(['please fail one', 'two', 'three', 'four', 'five']) });
    const run = await dwf(
      ['run', 'five.js', '--model', MODEL, '--runs-dir', 'runs', '--json'],
      repo,
      env(server.url),
    );
    expect(run.code).toBe(1);
    const outcome = JSON.parse(run.stdout);
    expect(outcome).toMatchObject({
      status: 'failed',
      failedAgents: 1,
      error:
        'every agent failed: the model API kept failing (API error 500) — it may be down; try again later',
    });
    // The first agent's 13 attempts; the four after it never started.
    expect(server.requests).toHaveLength(13);
  }, 60_000);
});
