import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A request one of the local stand-ins (for the GitHub API, for the model API) received. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A local HTTP server answering with `answer`; every request is recorded. */
export async function serve(
  answer: (seen: Seen) => [number, unknown],
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      seen.push(request);
      const [status, body] = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

export interface Schema {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
}

/** The least answer a schema accepts: what a quiet model says when it finds nothing. */
export function quiet(schema: Schema): unknown {
  if (schema.type === 'object') {
    return Object.fromEntries((schema.required ?? []).map((k) => [k, quiet(schema.properties?.[k] ?? {})]));
  }
  if (schema.type === 'array') return [];
  if (schema.type === 'boolean') return false;
  if (schema.type === 'integer' || schema.type === 'number') return 1;
  return 'nothing found';
}

/** A Messages API reply as the model stand-ins send it: 1000 tokens in, 20 out, no cache. */
export function messageReply(id: string, model: string, content: unknown[], toolUse = false) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: toolUse ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: 1000,
      output_tokens: 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
}
