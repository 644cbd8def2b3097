import { generateKeyPairSync } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import nock from 'nock';
import { type Logger, Probot, ProbotOctokit } from 'probot';
import app from '../../src/app/index.js';

export const API = 'https://api.github.com';
export const REPO = '/repos/Codertocat/Hello-World';
export const APP_LOGIN = 'dynamic-workflows[bot]';

const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
}) as string;

export function newProbot(options: { log?: Logger } = {}): Probot {
  const probot = new Probot({
    appId: 123,
    privateKey,
    ...options,
    Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
      ...options,
      retry: { enabled: false },
      throttle: { enabled: false },
    })),
  });
  probot.load(app);
  return probot;
}

type Example = { action?: string; [key: string]: unknown };
// biome-ignore lint/suspicious/noExplicitAny: webhook payloads are deep JSON that tests reach into and change
type Payload = Record<string, any>;

/** A real payload from @octokit/webhooks-examples, with an installation and the given changes. */
export function payload(
  name: string,
  action: string,
  change: (p: Payload) => void = () => {},
): Payload {
  const group = (examples as unknown as Array<{ name: string; examples: Example[] }>).find(
    (e) => e.name === name,
  );
  const found = group?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${name}.${action} example`);
  const copy = structuredClone(found) as Payload;
  copy.installation = { id: 2, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMg==' };
  change(copy);
  return copy;
}

export interface Recorded {
  method: string;
  path: string;
  body: unknown;
}

/** GitHub at HTTP: every request is recorded; the installation token and the app's identity are answered. */
export function github() {
  const requests: Recorded[] = [];
  // The app's identity and an installation token: asked for once per Probot instance, if at all.
  const scope = nock(API)
    .get('/app')
    .optionally()
    .times(5)
    .reply(200, { slug: 'dynamic-workflows', id: 123 })
    .post('/app/installations/2/access_tokens')
    .optionally()
    .times(5)
    .reply(201, { token: 'ghs_test', permissions: { issues: 'write', actions: 'write' } });
  scope.on('request', (req, _interceptor, body) => {
    const path = req.path as string;
    if (path.startsWith('/app')) return;
    requests.push({ method: req.method as string, path, body: body ? JSON.parse(body) : undefined });
  });
  return { scope, requests };
}

export function comment(id: number, login: string, body: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    body,
    user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:00Z',
    ...extra,
  };
}

export { nock };
