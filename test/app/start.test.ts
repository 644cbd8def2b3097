import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('npm start without credentials starts Probot setup instead of crashing', async () => {
  const port = await freePort();
  const cwd = tempDir();
  const child = spawn(
    process.execPath,
    [join(root, 'node_modules/probot/bin/probot.js'), 'run', join(root, 'dist/app/index.js')],
    {
      cwd,
      env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  try {
    const deadline = Date.now() + 20_000;
    while (!output.includes('Listening on') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(child.exitCode).toBeNull();
    expect(output).toContain('Probot is in setup mode');
    const response = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/probot');
  } finally {
    child.kill('SIGTERM');
  }
}, 30_000);
