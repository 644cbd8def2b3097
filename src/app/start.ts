import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { run } from 'probot';
import app from './index.js';
import { MANIFEST_PATH, setupHandler } from './setup.js';

/**
 * `npm start` and the container's command. With credentials (APP_ID and PRIVATE_KEY or
 * PRIVATE_KEY_PATH, from the environment or .env) it runs the app under Probot's server: webhooks at
 * /api/github/webhooks, /healthz, Probot's /ping. Without them, outside production, it serves the
 * setup page (src/app/setup.ts); in production Probot refuses to start and says which is missing.
 */
const envPath = join(process.cwd(), '.env');
if (existsSync(envPath)) process.loadEnvFile(envPath);
const env = process.env;
const credentials = Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH));

if (credentials || env.NODE_ENV === 'production') {
  await run(app);
} else {
  const host = env.HOST || 'localhost';
  const port = Number(env.PORT) || 3000;
  const handle = setupHandler({
    env,
    manifestPath: MANIFEST_PATH,
    envPath,
    log: (line) => console.log(line),
  });
  createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  }).listen(port, host, () => {
    console.log(
      `The app has no credentials yet (APP_ID, PRIVATE_KEY): setup mode. Open http://${host}:${port}/ to register it.`,
    );
  });
}
