import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import yaml from 'js-yaml';

/**
 * The app's setup page, served by `npm start` while the app has no credentials: it registers the
 * GitHub App from the manifest (app.yml) and writes APP_ID, PRIVATE_KEY and WEBHOOK_SECRET to .env.
 * It replaces Probot's own setup page, whose manifest takes app.yml's webhook URL as it is: here the
 * URL comes from the environment (WEBHOOK_URL of a deployment, or WEBHOOK_PROXY_URL, a smee.io
 * channel for local development), and the page says plainly when it is still the placeholder.
 */

/** The placeholder in app.yml: GitHub would send every webhook to it. */
export const PLACEHOLDER_HOST = 'example.com';

export interface SetupOptions {
  env: NodeJS.ProcessEnv;
  /** Where app.yml is. */
  manifestPath: string;
  /** Where .env is written. */
  envPath: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

interface Manifest {
  name?: string;
  hook_attributes?: { url?: string };
  [key: string]: unknown;
}

/** The webhook URL the manifest registers, and whether it is still the placeholder. */
export function webhookUrl(
  env: NodeJS.ProcessEnv,
  manifest: Manifest,
): { url: string; placeholder: boolean } {
  const url = env.WEBHOOK_URL || env.WEBHOOK_PROXY_URL || manifest.hook_attributes?.url || '';
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {}
  return {
    url,
    placeholder: host === '' || host === PLACEHOLDER_HOST || host.endsWith(`.${PLACEHOLDER_HOST}`),
  };
}

/** app.yml as GitHub's manifest flow wants it: the webhook URL from the environment, the redirect back here. */
export function manifestFor(options: SetupOptions, baseUrl: string): Manifest {
  const manifest = (yaml.load(readFileSync(options.manifestPath, 'utf8')) ?? {}) as Manifest;
  return {
    ...manifest,
    hook_attributes: { ...manifest.hook_attributes, url: webhookUrl(options.env, manifest).url },
    redirect_url: `${baseUrl}/probot/setup`,
  };
}

const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const githubHost = (env: NodeJS.ProcessEnv) =>
  `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST || 'github.com'}`;
const apiBase = (env: NodeJS.ProcessEnv) =>
  env.GHE_HOST ? `${githubHost(env)}/api/v3` : 'https://api.github.com';

/** The page: what will be registered, a warning when the webhook URL is the placeholder, the button. */
export function setupPage(options: SetupOptions, baseUrl: string): string {
  const manifest = manifestFor(options, baseUrl);
  const { url, placeholder } = webhookUrl(options.env, manifest);
  const org = options.env.GH_ORG ? `/organizations/${options.env.GH_ORG}` : '';
  const warning = placeholder
    ? `<p class="warning"><strong>The webhook URL is a placeholder (${html(url || 'none')}): GitHub would send this app's events nowhere.</strong>
Set <code>WEBHOOK_PROXY_URL</code> to a channel from <a href="https://smee.io/new">smee.io/new</a> (local development) or
<code>WEBHOOK_URL</code> to your deployment's <code>https://HOST/api/github/webhooks</code> in <code>.env</code>, and restart.
Or register now and change the URL later in the app's settings on GitHub.</p>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Set up ${html(manifest.name ?? 'the app')}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em}
.warning{background:#fff5b1;border:1px solid #d4a72c;padding:.75em 1em;border-radius:6px}code{font-size:90%}</style></head>
<body><h1>Set up ${html(manifest.name ?? 'the app')}</h1>
<p>This registers a GitHub App from <code>app.yml</code> on ${html(githubHost(options.env))}${org ? ` for the organisation ${html(options.env.GH_ORG!)}` : ''}.
GitHub then sends you back here, and this server writes <code>APP_ID</code>, <code>PRIVATE_KEY</code> and
<code>WEBHOOK_SECRET</code> to <code>.env</code>. Restart <code>npm start</code> afterwards.</p>
<p>Webhook URL: <code id="webhook-url">${html(url)}</code></p>
${warning}
<form action="${html(`${githubHost(options.env)}${org}/settings/apps/new`)}" method="post">
<input type="hidden" name="manifest" value="${html(JSON.stringify(manifest))}">
<button type="submit">Register the GitHub App</button></form>
</body></html>
`;
}

/** Merges values into a .env file (one KEY=value a line; newlines of a key escaped as Probot writes them). */
export function writeEnvFile(path: string, values: Record<string, string>): void {
  let current: Record<string, string> = {};
  try {
    current = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch {}
  const merged = { ...current, ...values };
  const quote = (v: string) => (/[\n"#\s]/.test(v) ? `"${v.replace(/\n/g, '\\n')}"` : v);
  writeFileSync(
    path,
    `${Object.entries(merged)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join('\n')}\n`,
    {
      mode: 0o600,
    },
  );
}

interface Conversion {
  id: number;
  slug: string;
  html_url: string;
  pem: string;
  webhook_secret: string;
  client_id: string;
  client_secret: string;
}

/** GitHub's redirect after registering: the code becomes the app's credentials, written to .env. */
async function convert(options: SetupOptions, code: string, res: ServerResponse): Promise<void> {
  const response = await (options.fetch ?? fetch)(
    `${apiBase(options.env)}/app-manifests/${encodeURIComponent(code)}/conversions`,
    { method: 'POST', headers: { accept: 'application/vnd.github+json' } },
  );
  if (!response.ok) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`GitHub refused the code (${response.status})`);
    return;
  }
  const app = (await response.json()) as Conversion;
  writeEnvFile(options.envPath, {
    APP_ID: String(app.id),
    PRIVATE_KEY: app.pem,
    WEBHOOK_SECRET: app.webhook_secret,
    GITHUB_CLIENT_ID: app.client_id,
    GITHUB_CLIENT_SECRET: app.client_secret,
  });
  options.log?.(
    `The app ${app.slug} is registered and its credentials are in .env: restart npm start. ` +
      `Its bot is ${app.slug}[bot]${app.slug === 'dynamic-workflows' ? '' : `: set appLogin: ${app.slug}[bot] in each repository's .github/dynamic-workflows.yml`}.`,
  );
  res.writeHead(302, { location: `${app.html_url}/installations/new` }).end();
}

function baseUrlOf(req: IncomingMessage): string {
  const proto = String(req.headers['x-forwarded-proto'] ?? 'http')
    .split(',')[0]!
    .trim();
  return `${proto}://${req.headers['x-forwarded-host'] ?? req.headers.host ?? 'localhost:3000'}`;
}

/** The setup server's request handler. */
export function setupHandler(options: SetupOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://setup');
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/probot')) {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(setupPage(options, baseUrlOf(req)));
    } else if (req.method === 'GET' && url.pathname === '/probot/setup' && url.searchParams.get('code')) {
      await convert(options, url.searchParams.get('code')!, res);
    } else if (req.method === 'GET' && url.pathname === '/healthz') {
      // Up, but not serving webhooks: an orchestrator should not send traffic yet.
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"setup"}\n');
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: the app is in setup mode, see /\n');
    }
  };
}

/** Where the package's app.yml is, from dist/app/ or src/app/. */
export const MANIFEST_PATH = join(import.meta.dirname, '..', '..', 'app.yml');
