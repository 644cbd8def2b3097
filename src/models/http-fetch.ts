import http from 'node:http';
import https from 'node:https';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';

/** Statuses whose response has no body (a `Response` refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const DECODERS: Record<string, (data: Buffer, done: (error: Error | null, out: Buffer) => void) => void> = {
  gzip: gunzip,
  'x-gzip': gunzip,
  deflate: inflate,
  br: brotliDecompress,
};

/**
 * The `fetch` the Anthropic SDK sends its requests with: node:http over a keep-alive agent, the
 * body read whole (the SDK reads every reply whole: the engine never streams).
 *
 * Why not the global fetch: undici's fetch builds a graph of web streams, promises and headers
 * per request that outlives the request long enough to be promoted to V8's old space. In a run
 * of a thousand agents with tool loops (ten thousand requests) that promotion drove a major GC
 * every few seconds and grew the heap to four times its live size; over node:http a request's
 * garbage dies young. Measured with the bench's tool loops: peak RSS 215 MB before, about 165 MB
 * after, and a shorter wall time.
 *
 * What fetch does that this keeps: the caller's abort signal (rejecting with its reason), gzip,
 * deflate and brotli replies, a `Content-Length` on the request, redirects (handed to the global
 * fetch, which follows them), and connection errors as rejections (the SDK retries those).
 * Anything else (a `Request` object, a body that is not bytes or text) goes to the global fetch.
 */
export function createHttpFetch(): typeof fetch {
  // Idle connections are closed after 4 s (undici's default), sooner when the server's Keep-Alive
  // hint says so: a connection a middlebox dropped while agents ran their tools is not reused. The
  // timeout applies to idle sockets only; a request waiting minutes for its reply is not cut.
  const options = { keepAlive: true, timeout: 4000 };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
  const httpFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    const bytes =
      typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
    if (input instanceof Request || (body != null && bytes === undefined)) return fetch(input, init);
    const url = new URL(input);
    const agent =
      url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : null;
    if (!agent) return fetch(input, init);
    const signal = init.signal ?? undefined;
    const aborted = () => signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
    if (signal?.aborted) return Promise.reject(aborted());

    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    if (bytes) headers['content-length'] = String(bytes.byteLength);

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, response?: Response) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error !== null) reject(error);
        else resolve(response!);
      };
      const onAbort = () => {
        settle(aborted());
        request.destroy();
      };
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        { method: init.method ?? 'GET', headers, agent },
        (res) => {
          const status = res.statusCode ?? 0;
          if (REDIRECT.has(status) && res.headers.location && init.redirect !== 'manual') {
            res.resume();
            signal?.removeEventListener('abort', onAbort);
            settled = true;
            fetch(input, init).then(resolve, reject);
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => settle(error));
          res.on('close', () => {
            if (!res.complete) settle(new Error('the connection closed before the reply was complete'));
          });
          res.on('end', () => {
            const make = (data: Buffer | null) => {
              try {
                const replyHeaders = new Headers();
                for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
                  replyHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
                }
                settle(null, new Response(data, { status, headers: replyHeaders }));
              } catch (error) {
                settle(error);
              }
            };
            if (NULL_BODY.has(status)) return make(null);
            const data = Buffer.concat(chunks);
            const decode = DECODERS[(res.headers['content-encoding'] ?? '').trim().toLowerCase()];
            if (!decode || data.byteLength === 0) return make(data);
            decode(data, (error, out) => (error ? settle(error) : make(out)));
          });
        },
      );
      request.on('error', (error) => settle(error));
      signal?.addEventListener('abort', onAbort, { once: true });
      request.end(bytes);
    });
  };
  return httpFetch as typeof fetch;
}
