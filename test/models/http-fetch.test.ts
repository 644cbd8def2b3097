import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { createAnthropicProvider } from '../../src/models/anthropic.js';
import { createHttpFetch } from '../../src/models/http-fetch.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('the SDK transport over node:http', () => {
  test('sends the method, headers and body with a Content-Length, and gives status, headers and body back', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const url = await serve((req, body, res) => {
      seen = { method: req.method, headers: req.headers, body };
      res.writeHead(201, { 'content-type': 'application/json', 'request-id': 'req_1' });
      res.end(JSON.stringify({ ok: true }));
    });
    const response = await createHttpFetch()(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: '{"a":"é"}',
    });
    expect(seen.method).toBe('POST');
    expect(seen.headers?.['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')));
    expect(seen.headers?.['x-api-key']).toBe('k');
    expect(seen.body).toBe('{"a":"é"}');
    expect(response.status).toBe(201);
    expect(response.headers.get('request-id')).toBe('req_1');
    expect(await response.json()).toEqual({ ok: true });
  });

  test('decodes a gzip reply; a 204 has no body', async () => {
    const url = await serve((req, _body, res) => {
      if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
        return;
      }
      expect(req.headers['accept-encoding']).toContain('gzip');
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ zipped: true })));
    });
    const httpFetch = createHttpFetch();
    expect(await (await httpFetch(`${url}/zip`)).json()).toEqual({ zipped: true });
    const empty = await httpFetch(`${url}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  test('follows a redirect as fetch does', async () => {
    const url = await serve((req, body, res) => {
      if (req.url === '/old') {
        res.writeHead(307, { location: '/new' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${body}`);
    });
    const response = await createHttpFetch()(`${url}/old`, { method: 'POST', body: 'x' });
    expect(await response.text()).toBe('POST /new x');
  });

  test("an abort rejects with the signal's reason, before or during the request; a refused connection rejects", async () => {
    const url = await serve(() => {
      // never answers
    });
    const httpFetch = createHttpFetch();
    const early = new AbortController();
    early.abort();
    await expect(httpFetch(url, { signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const late = new AbortController();
    const pending = httpFetch(url, { method: 'POST', body: '{}', signal: late.signal });
    setTimeout(() => late.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const why = new Error('stopped');
    const reasoned = new AbortController();
    const withReason = httpFetch(url, { signal: reasoned.signal });
    setTimeout(() => reasoned.abort(why), 20);
    await expect(withReason).rejects.toBe(why);
    await expect(httpFetch('http://127.0.0.1:1/')).rejects.toThrow();
  });

  test('a reply cut off mid-body rejects, and the provider retries it as a lost connection', async () => {
    let calls = 0;
    const url = await serve((_req, _body, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"id":');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5',
          content: [{ type: 'text', text: 'hello' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 3, output_tokens: 1 },
        }),
      );
    });
    const provider = createAnthropicProvider({
      model: 'claude-sonnet-5-5',
      apiKey: 'k',
      baseURL: url,
      sleep: async () => {},
    });
    const reply = await provider.complete({
      model: 'claude-sonnet-5-5',
      system: 's',
      messages: [{ role: 'user', content: 'hi' }],
      agent: { index: 0, attempt: 1 },
      signal: new AbortController().signal,
    });
    expect(reply.text).toBe('hello');
    expect(reply.retries).toBe(1);
    expect(calls).toBe(2);
  });
});
