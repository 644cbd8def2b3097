// What the benches run: the fan-out script, and a local stand-in for the Messages API.
import { createServer } from 'node:http';

export const AGENTS = 1000;
export const CONCURRENCY = 16;
export const TOOL_TURNS = 10;
export const SERVER_LATENCY_MS = 50;

/** AGENTS agents in one parallel(); the result is how many answered with a string. */
export const SCRIPT = `export const meta = { name: 'bench', description: '${AGENTS} agents' };
const out = await parallel(Array.from({ length: ${AGENTS} }, (_, i) => () => agent('task ' + i, { label: 'task ' + i })));
return out.filter((x) => typeof x === 'string').length;`;

/** Throws unless the run completed with every agent's answer. */
export function checkSummary(summary) {
  if (summary.status !== 'completed' || summary.result !== AGENTS) {
    throw new Error(`bench run did not complete: ${summary.status} ${summary.error ?? ''}`);
  }
}

/**
 * A local stand-in for the Messages API: every agent lists files for `turns` - 1 turns and then
 * answers, each reply after `latencyMs`; each reply bills 1000 input and 50 output tokens.
 * `served()` counts the replies.
 */
export async function messagesServer({ turns = TOOL_TURNS, latencyMs = SERVER_LATENCY_MS } = {}) {
  let served = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const turn = body.messages.filter((m) => m.role === 'assistant').length + 1;
      const id = ++served;
      const content =
        turn < turns
          ? [{ type: 'tool_use', id: `toolu_${id}`, name: 'list_files', input: { path: '.' } }]
          : [{ type: 'text', text: `done after ${turn} turns` }];
      const reply = {
        id: `msg_${id}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: turn < turns ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 1000, output_tokens: 50 },
      };
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply));
      }, latencyMs);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}`, served: () => served };
}
