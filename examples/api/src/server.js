import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { userFor } from './auth.js';
import { readPublicFile } from './files.js';
import { getOrder } from './orders.js';
import { listUsers, paginate } from './store.js';

function send(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function handle(request, response) {
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname === '/health') return send(response, 200, { ok: true });
  if (url.pathname === '/users') {
    const page = Number(url.searchParams.get('page') ?? 1);
    const size = Number(url.searchParams.get('size') ?? 10);
    return send(response, 200, paginate(listUsers(), page, size));
  }
  const order = /^\/orders\/(\d+)$/.exec(url.pathname);
  if (order) {
    const found = getOrder(userFor(request), Number(order[1]));
    return found ? send(response, 200, found) : send(response, 404, { error: 'not found' });
  }
  if (url.pathname.startsWith('/files/')) {
    const content = await readPublicFile(decodeURIComponent(url.pathname.slice('/files/'.length)));
    return content === undefined
      ? send(response, 404, { error: 'not found' })
      : send(response, 200, { content });
  }
  return send(response, 404, { error: 'not found' });
}

export function createApp() {
  return createServer((request, response) => {
    handle(request, response).catch(() => send(response, 500, { error: 'internal error' }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  createApp().listen(Number(process.env.PORT ?? 3000));
}
