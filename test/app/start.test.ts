import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { MANIFEST_PATH, setupHandler } from '../../src/app/setup.js';
import { tempDir } from '../helpers.js';

// `npm start` (node dist/app/start.js, as the Dockerfile runs it), started for real and asked over HTTP.

const root = join(import.meta.dirname, '..', '..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts the app's entry with this environment; resolves once it listens (or exits). */
async function start(
  env: NodeJS.ProcessEnv,
): Promise<{ port: number; output: () => string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist/app/start.js')], {
    cwd: tempDir(),
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 20_000;
  while (!/Listening on|setup mode/.test(output) && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, output: () => output, child };
}

describe('without credentials: the setup page', () => {
  test('registers from app.yml and warns that the webhook URL is a placeholder', async () => {
    const { port, output, child } = await start({});
    expect(child.exitCode).toBeNull();
    expect(output()).toContain('setup mode. Open http://127.0.0.1:');
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('The webhook URL is a placeholder (https://example.com/api/github/webhooks)');
    expect(page).toContain('WEBHOOK_PROXY_URL');
    expect(page).toContain('action="https://github.com/settings/apps/new"');
    const manifest = JSON.parse(
      /name="manifest" value="([^"]*)"/
        .exec(page)![1]!
        .replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))),
    );
    expect(manifest.redirect_url).toBe(`http://127.0.0.1:${port}/probot/setup`);
    expect(manifest.default_permissions).toMatchObject({ actions: 'write', contents: 'read' });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(503);
  }, 30_000);

  test('the webhook URL comes from WEBHOOK_PROXY_URL (smee) or WEBHOOK_URL (a deployment)', async () => {
    const { port } = await start({ WEBHOOK_PROXY_URL: 'https://smee.io/abc123' });
    const page = await (await fetch(`http://127.0.0.1:${port}/probot`)).text();
    expect(page).toContain('<code id="webhook-url">https://smee.io/abc123</code>');
    expect(page).not.toContain('placeholder');
    const deployed = await start({ WEBHOOK_URL: 'https://dwf.example.org/api/github/webhooks' });
    const text = await (await fetch(`http://127.0.0.1:${deployed.port}/`)).text();
    expect(text).toContain('<code id="webhook-url">https://dwf.example.org/api/github/webhooks</code>');
  }, 30_000);

  test("GitHub's redirect: the code becomes the credentials in .env, and the log names the bot login", async () => {
    const envPath = join(tempDir(), '.env');
    const lines: string[] = [];
    const requests: string[] = [];
    const handle = setupHandler({
      env: {},
      manifestPath: MANIFEST_PATH,
      envPath,
      log: (line) => lines.push(line),
      fetch: (async (url: string, init: RequestInit) => {
        requests.push(`${init.method} ${url}`);
        return Response.json({
          id: 42,
          slug: 'our-workflows',
          html_url: 'https://github.com/apps/our-workflows',
          pem: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n',
          webhook_secret: 'whsec',
          client_id: 'Iv1.x',
          client_secret: 'cs',
        });
      }) as typeof fetch,
    });
    const server = createHttpServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/probot/setup?code=c0de`, { redirect: 'manual' });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(
        'https://github.com/apps/our-workflows/installations/new',
      );
    } finally {
      server.close();
    }
    expect(requests).toEqual(['POST https://api.github.com/app-manifests/c0de/conversions']);
    const env = parseEnv(readFileSync(envPath, 'utf8'));
    expect(env).toMatchObject({ APP_ID: '42', WEBHOOK_SECRET: 'whsec' });
    expect(env.PRIVATE_KEY).toBe('-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n');
    expect(lines.join('\n')).toContain('set appLogin: our-workflows[bot]');
  });
});

describe('with credentials: the app under Probot', () => {
  test('/healthz answers 200 for the container, with Probot /ping beside it', async () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    }) as string;
    const { port, output, child } = await start({
      APP_ID: '123',
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: 'secret',
      LOG_LEVEL: 'info',
    });
    expect(child.exitCode, output()).toBeNull();
    expect(output()).toContain('Listening on');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`http://127.0.0.1:${port}/ping`)).text()).toBe('PONG');
    // A webhook without a valid signature is refused: the secret is in force.
    const hook = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': '1' },
      body: '{}',
    });
    expect(hook.status).toBeGreaterThanOrEqual(400);
  }, 30_000);

  test('in production without credentials it refuses to start and says what is missing', async () => {
    const { child, output } = await start({ NODE_ENV: 'production' });
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(child.exitCode).not.toBe(0);
    expect(output()).toContain('App ID is missing');
  }, 30_000);
});
