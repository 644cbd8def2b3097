/**
 * A local Anthropic-compatible Messages API that behaves like a diligent model, for the cost tests
 * and `npm run bench:cost`. Written apart from the estimator on purpose (it imports nothing from
 * src/): it decides every reply from the request alone, counts the whole request as sent with its
 * own tokenizer (text and JSON read as a BPE tokenizer would: words with their leading space,
 * runs of punctuation, numbers in threes), and simulates prompt caching by the API's documented
 * rules: prefix order tools → system → messages, `cache_control` breakpoints (at most 4), a
 * lookback of 20 blocks before each breakpoint, the minimum cacheable prefix (1024 tokens, 2048 for
 * Haiku), entries readable once the writing reply is sent, expiry after the TTL since last use.
 *
 * The model: an agent given a file (`<file-name>`) reads it with read_file, page after page, then
 * the local modules it imports (up to three), and a verifier searches for the callers of the code
 * it checks. It finds 0, 1 or 2 problems a file (by a hash of the file's name), confirms about two
 * in three, fixes with edit_file and run_tests, and most fixes hold at the first check. Answers
 * have the lengths real ones have (a title of 40–90 characters, a description of 200–700, evidence
 * of 250–800, a summary of 1.5–3k).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BatchBehaviour, type BatchRecord, batchEndpoints } from './batch-server.js';

// biome-ignore lint/suspicious/noExplicitAny: a request body as JSON, read field by field like any server would
export type Json = Record<string, any>;

export interface ServerTotals {
  requests: number;
  input: number;
  /** Every cache write, the 1-hour ones included. */
  cacheWrite: number;
  /** Of cacheWrite, the tokens written with the 1-hour TTL. */
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
  /** Of all the above, those billed through the Message Batches endpoints (batch-server.ts). */
  batch?: Omit<ServerTotals, 'requests' | 'batch'>;
}

/**
 * Dollars as the API's price list states them, in multiples of a model's input price (its own
 * arithmetic, not src/models/pricing.ts): a 5-minute cache write 1.25×, a 1-hour one 2×, a read
 * 0.1×, output 5× (Sonnet and Opus); the Batches API half of all of it.
 */
export function serverDollars(t: ServerTotals, inputPerMillion: number): number {
  const at = (u: Omit<ServerTotals, 'requests' | 'batch'>) =>
    u.input + (u.cacheWrite - u.cacheWrite1h) * 1.25 + u.cacheWrite1h * 2 + u.cacheRead * 0.1 + u.output * 5;
  const batched = t.batch ? at(t.batch) / 2 : 0;
  return ((at(t) - batched) * inputPerMillion) / 1_000_000;
}

const HOUR = 3_600_000;
const TOOL_USE_SYSTEM = 346; // tokens the API adds when tools are offered (Anthropic's tool-use docs)
const LOOKBACK = 20;

export function tokens(text: string): number {
  return (text.match(/ ?[A-Za-z]+| ?\d{1,3}|[^\S\n]+|\n+| ?[^\sA-Za-z\d]+/g) ?? []).length;
}

const h = (text: string) => createHash('sha256').update(text).digest();
const pick = (text: string, n: number) => h(text).readUInt32LE(0) % n;

interface Block {
  text: string;
  tokens: number;
  ttl?: number;
}

function blocksOf(body: Json): Block[] {
  const out: Block[] = [];
  const add = (b: Json, text: string) =>
    out.push({
      text,
      tokens: tokens(text) + 3,
      ...(b.cache_control ? { ttl: b.cache_control.ttl === '1h' ? HOUR : 300_000 } : {}),
    });
  if (body.tools?.length) out.push({ text: '<tools>', tokens: TOOL_USE_SYSTEM });
  for (const t of body.tools ?? []) add(t, `${t.name}\n${t.description}\n${JSON.stringify(t.input_schema)}`);
  if (body.output_config?.format)
    out.push({
      text: JSON.stringify(body.output_config.format),
      tokens: tokens(JSON.stringify(body.output_config.format)),
    });
  const system =
    typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : (body.system ?? []);
  for (const s of system) add(s, s.text);
  for (const m of body.messages) {
    const content = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    for (const b of content) {
      const text =
        b.type === 'text'
          ? b.text
          : b.type === 'tool_use'
            ? `${b.name}${JSON.stringify(b.input)}`
            : String(b.content);
      add(b, `${m.role}:${text}`);
    }
  }
  return out;
}

class Cache {
  private readonly entries = new Map<string, { expires: number; ttl: number }>();
  constructor(private readonly now: () => number) {}
  bill(body: Json, blocks: Block[]) {
    const min = /haiku/.test(body.model) ? 2048 : 1024;
    const keys: string[] = [];
    const upTo: number[] = [];
    let key = '';
    let sum = 0;
    for (const b of blocks) {
      key = h(`${key}|${b.text}`).toString('hex');
      keys.push(key);
      sum += b.tokens;
      upTo.push(sum);
    }
    const now = this.now();
    const marks = blocks
      .map((b, i) => (b.ttl ? i : -1))
      .filter((i) => i >= 0)
      .slice(-4);
    let hit = -1;
    for (const m of marks)
      for (let i = m; i >= 0 && i >= m - LOOKBACK; i--) {
        const e = this.entries.get(keys[i]!);
        if (e && e.expires > now) {
          hit = Math.max(hit, i);
          break;
        }
      }
    if (hit >= 0) {
      const e = this.entries.get(keys[hit]!)!;
      e.expires = now + e.ttl;
    }
    const read = hit >= 0 ? upTo[hit]! : 0;
    const lastMark = marks.at(-1) ?? -1;
    let write = 0;
    let write1h = 0;
    const pending: Array<[string, number]> = [];
    if (lastMark > hit && upTo[lastMark]! >= min) {
      write = upTo[lastMark]! - read;
      let from = read;
      for (const m of marks) {
        if (m <= hit) continue;
        // Each stretch is billed at the TTL of the breakpoint that ends it.
        if (blocks[m]!.ttl === HOUR) write1h += upTo[m]! - from;
        from = upTo[m]!;
        if (upTo[m]! >= min) pending.push([keys[m]!, blocks[m]!.ttl!]);
      }
    }
    return { read, write, write1h, input: sum - read - write, commit: () => this.store(pending) };
  }
  private store(pending: Array<[string, number]>) {
    for (const [k, ttl] of pending) this.entries.set(k, { expires: this.now() + ttl, ttl });
  }
}

function text(n: number, seed: string): string {
  const words =
    'when the caller passes a value that the parser does not expect the code keeps going with a partial state and returns it as valid so later reads trust a wrong value'.split(
      ' ',
    );
  let out = '';
  for (let i = pick(seed, words.length); out.length < n; i++) out += `${words[i % words.length]} `;
  return out.trim();
}

const fenced = (tag: string, s: string) => new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(s)?.[1];

/** The next tool calls of the agent, or null when it answers. */
function nextTools(body: Json): Json[] | null {
  const first = body.messages[0];
  const task =
    typeof first.content === 'string'
      ? first.content
      : first.content.map((b: Json) => b.text ?? '').join('\n');
  const file = fenced('file-name', task);
  const offered = new Set((body.tools ?? []).map((t: Json) => t.name));
  if (!file || !offered.has('read_file')) return null;
  const calls: Json[] = body.messages.flatMap((m: Json) =>
    m.role === 'assistant' ? m.content.filter((b: Json) => b.type === 'tool_use') : [],
  );
  const results: string[] = body.messages.flatMap((m: Json) =>
    m.role === 'user' && Array.isArray(m.content)
      ? m.content.filter((b: Json) => b.type === 'tool_result').map((b: Json) => String(b.content))
      : [],
  );
  const seen = new Map<string, { end: number; of: number; body: string }>();
  for (const r of results)
    for (const m of r.matchAll(
      /<file path="([^"]+)" lines="\d+-(\d+)" of="(\d+)"[^>]*>\n([\s\S]*?)<\/file>/g,
    ))
      seen.set(m[1]!, { end: Number(m[2]), of: Number(m[3]), body: (seen.get(m[1]!)?.body ?? '') + m[4] });
  const read = (path: string): Json[] => {
    const s = seen.get(path);
    if (!s) return [{ name: 'read_file', input: { path } }];
    return s.end < s.of ? [{ name: 'read_file', input: { path, start_line: s.end + 1 } }] : [];
  };
  const more = read(file);
  if (more.length > 0) return more;
  // What the file imports (relative JS and Python imports), up to three modules.
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
  const imports = [...(seen.get(file)?.body ?? '').matchAll(/from \.(\w+) import|from '\.\/([\w.-]+)'/g)]
    .map((m) => (m[1] ? `${dir}${m[1]}.py` : `${dir}${m[2]}`))
    .slice(0, 3);
  for (const path of imports) {
    if (calls.some((c) => c.input.path === path && !seen.has(path))) continue; // it failed: move on
    const r = read(path);
    if (r.length > 0) return r;
  }
  const verifying = /adversarial reviewer/.test(task);
  if (verifying && offered.has('search') && !calls.some((c) => c.name === 'search')) {
    const name = /func (?:\([^)]*\) )?(\w+)|def (\w+)|function (\w+)/.exec(seen.get(file)?.body ?? '');
    return [{ name: 'search', input: { pattern: `${name?.[1] ?? name?.[2] ?? name?.[3] ?? 'value'}\\(` } }];
  }
  if (/^Fix the confirmed problem/m.test(task) && offered.has('edit_file')) {
    if (!calls.some((c) => c.name === 'edit_file')) {
      const line = Number(/at line (\d+)/.exec(task)?.[1] ?? 1);
      const lines = (seen.get(file)?.body ?? '').split('\n').map((l) => l.replace(/^\s*\d+: /, ''));
      const target = lines.slice(Math.max(0, line - 1)).find((l) => l.trim().length > 10) ?? lines[0] ?? '';
      return [
        {
          name: 'edit_file',
          input: { path: file, old_string: target, new_string: `${target} // validated` },
        },
      ];
    }
    if (offered.has('run_tests') && !calls.some((c) => c.name === 'run_tests'))
      return [{ name: 'run_tests', input: {} }];
  }
  return null;
}

function answer(body: Json): unknown {
  const first = body.messages[0];
  const task =
    typeof first.content === 'string'
      ? first.content
      : first.content.map((b: Json) => b.text ?? '').join('\n');
  const file = fenced('file-name', task) ?? '';
  const props = body.output_config?.format?.schema?.properties ?? {};
  const n = (seed: string, lo: number, hi: number) => lo + pick(seed, hi - lo + 1);
  if ('findings' in props)
    return {
      findings: Array.from({ length: pick(`count:${file}`, 3) }, (_, i) => ({
        title: text(n(`t${file}${i}`, 40, 90), `${file}${i}`),
        line: 1 + pick(`l${file}${i}`, 60),
        severity: ['low', 'medium', 'high', 'critical'][pick(`s${file}${i}`, 4)],
        description: text(n(`d${file}${i}`, 200, 700), `d${file}${i}`),
      })),
    };
  const finding = fenced('finding', task) ?? '';
  if ('confirmed' in props)
    return { confirmed: pick(`c${finding}`, 3) !== 0, evidence: text(n(`e${finding}`, 250, 800), finding) };
  if ('changed' in props) return { changed: true, summary: text(n(`s${finding}`, 150, 400), finding) };
  if ('fixed' in props)
    return {
      fixed: pick(`f${finding}${task.length}`, 4) !== 0,
      evidence: text(n(`v${finding}`, 250, 600), finding),
    };
  const out: Json = {};
  for (const [k, v] of Object.entries<Json>(props))
    out[k] = v.type === 'boolean' ? true : v.type === 'integer' ? 1 : text(80, k);
  return out;
}

export interface DiligentServer {
  url: string;
  totals: ServerTotals;
  /** The Batches endpoints' record (batch-server.ts): batches created, polls, results served. */
  batches: BatchRecord;
  close(): Promise<void>;
}

export interface ServerOptions {
  latencyMs?: number;
  /** The cache's clock (its TTLs): tests inject one to stand a phase's requests minutes apart. */
  now?: () => number;
  /** How the Batches endpoints treat each request (default: every one succeeds after one poll). */
  batches?: BatchBehaviour;
}

/** A message as the Messages API answers `body`, billed by the cache; `commit` makes its writes readable. */
export interface Answered {
  status: number;
  message: Json;
  commit(): void;
}

export function diligentModel(options: ServerOptions = {}) {
  const cache = new Cache(options.now ?? Date.now);
  const totals: ServerTotals = {
    requests: 0,
    input: 0,
    cacheWrite: 0,
    cacheWrite1h: 0,
    cacheRead: 0,
    output: 0,
  };
  let ids = 0;
  const answerOf = (body: Json, batched: boolean): Answered => {
    const blocks = blocksOf(body);
    const ttls = blocks.flatMap((b) => (b.ttl ? [b.ttl] : []));
    if (ttls.some((ttl, i) => i > 0 && ttl > ttls[i - 1]!))
      return {
        status: 400,
        message: {
          type: 'error',
          error: { type: 'invalid_request_error', message: 'a 1h cache_control after a 5m one' },
        },
        commit: () => {},
      };
    const bill = cache.bill(body, blocks);
    const tools = nextTools(body);
    const content: Json[] = tools
      ? [
          { type: 'text', text: `Reading what I need first: ${tools.map((t) => t.name).join(', ')}.` },
          ...tools.map((t) => ({ type: 'tool_use', id: `toolu_${++ids}`, name: t.name, input: t.input })),
        ]
      : [
          {
            type: 'text',
            text: body.output_config?.format
              ? JSON.stringify(answer(body))
              : text(1500 + pick(JSON.stringify(body.messages[0]).slice(0, 200), 1500), 'summary'),
          },
        ];
    const output = content.reduce((s, b) => s + tokens(b.text ?? `${b.name}${JSON.stringify(b.input)}`), 0);
    const counts = {
      input: bill.input,
      cacheWrite: bill.write,
      cacheWrite1h: bill.write1h,
      cacheRead: bill.read,
      output,
    };
    totals.requests++;
    for (const [k, v] of Object.entries(counts)) totals[k as keyof typeof counts] += v;
    if (batched) {
      totals.batch ??= { input: 0, cacheWrite: 0, cacheWrite1h: 0, cacheRead: 0, output: 0 };
      for (const [k, v] of Object.entries(counts)) totals.batch[k as keyof typeof counts] += v;
    }
    const usage = {
      input_tokens: bill.input,
      output_tokens: output,
      cache_creation_input_tokens: bill.write,
      cache_read_input_tokens: bill.read,
      cache_creation: {
        ephemeral_5m_input_tokens: bill.write - bill.write1h,
        ephemeral_1h_input_tokens: bill.write1h,
      },
      ...(batched ? { service_tier: 'batch' } : {}),
    };
    return {
      status: 200,
      message: {
        id: `msg_${++ids}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: tools ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage,
      },
      commit: bill.commit,
    };
  };
  return { totals, answerOf };
}

export async function startDiligentServer(options: ServerOptions = {}): Promise<DiligentServer> {
  const model = diligentModel(options);
  let url = '';
  const batches = batchEndpoints(model.answerOf, () => url, options.batches);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path.startsWith('/v1/messages/batches')) {
        const reply = batches.handle(req.method ?? 'GET', path, raw);
        res.writeHead(reply.status, { 'content-type': reply.type });
        res.end(reply.body);
        return;
      }
      const body = JSON.parse(raw) as Json;
      const answered = model.answerOf(body, false);
      await new Promise((r) => setTimeout(r, options.latencyMs ?? 3));
      res.writeHead(answered.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answered.message));
      answered.commit();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    totals: model.totals,
    batches: batches.record,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
