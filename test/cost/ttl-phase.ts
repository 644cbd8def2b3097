/**
 * The cost model's check of the per-phase cache TTL (cache-strategy.ts `TtlChooser`): the requests
 * of one phase sent through the real Anthropic provider to the diligent server (server.ts, its own
 * cache and its own prices), under an injected clock that stands them minutes apart without
 * waiting. Each TTL policy (the rule, always 5 minutes, always 1 hour) runs against a fresh server.
 * Shared by test/cost/ttl.test.ts and `npm run bench:cost`.
 */
import { createAnthropicProvider } from '../../src/models/anthropic.js';
import type { CacheTtl } from '../../src/models/cache-rules.js';
import { costUsd } from '../../src/models/pricing.js';
import {
  addUsage,
  type ChatMessage,
  type ToolDefinition,
  type Usage,
  ZERO_USAGE,
} from '../../src/models/types.js';
import { type ServerTotals, serverDollars, startDiligentServer } from './server.js';

const MODEL = 'claude-sonnet-5-5';
const INPUT_PRICE = 2; // Sonnet's input price, dollars a million tokens

/** A head of about 2,300 tokens: a preamble and a repository map, shared by every sibling. */
const SYSTEM = `You audit one file of this repository.\n${Array.from(
  { length: 120 },
  (_, i) => `- src/module${i}.ts: exports parseValue${i}, checkRange${i}`,
).join('\n')}`;

const TOOLS: ToolDefinition[] = [
  {
    name: 'read_file',
    description: 'Reads a file of the repository.',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

export type Shape = 'siblings' | 'turns';

export interface PhaseRun {
  ttl: CacheTtl | 'auto';
  /** The server's bill, in dollars, by its own arithmetic. */
  serverUsd: number;
  /** The provider's usage priced by src/models/pricing.ts. */
  pricedUsd: number;
  totals: ServerTotals;
  /** The head breakpoint's TTL of each request, as sent. */
  headTtls: CacheTtl[];
}

/**
 * One phase: `siblings`, six agents of a fan-out that each answer at once; `turns`, one agent whose
 * four turns each follow a tool call. `spacingMs`: the clock's step between requests.
 */
export async function runPhase(shape: Shape, spacingMs: number, ttl: CacheTtl | 'auto'): Promise<PhaseRun> {
  let clock = Date.UTC(2026, 10, 26);
  const now = () => clock;
  const server = await startDiligentServer({ now, latencyMs: 0 });
  const headTtls: CacheTtl[] = [];
  const capture: typeof fetch = (input, init) => {
    const body = JSON.parse(String(init?.body)) as { system: Array<{ cache_control?: { ttl?: CacheTtl } }> };
    headTtls.push(body.system[0]?.cache_control?.ttl ?? '5m');
    return fetch(input, init);
  };
  const provider = createAnthropicProvider({
    model: MODEL,
    apiKey: 'test-key',
    baseURL: server.url,
    fetch: capture,
    now,
    cache: { enabled: true, tail: 'smart', ttl },
  });
  let usage: Usage = ZERO_USAGE;
  const signal = new AbortController().signal;
  try {
    if (shape === 'siblings') {
      for (let index = 0; index < 6; index++) {
        const task = `Audit src/module${index}.ts for unchecked input.`;
        const reply = await provider.complete({
          model: MODEL,
          system: SYSTEM,
          messages: [{ role: 'user', content: task }],
          agent: { index, phase: 'audit', attempt: 1 },
          signal,
        });
        usage = addUsage(usage, reply.usage);
        clock += spacingMs;
      }
    } else {
      const messages: ChatMessage[] = [
        { role: 'user', content: 'Audit src/module1.ts for unchecked input.' },
      ];
      for (let turn = 0; turn < 4; turn++) {
        const reply = await provider.complete({
          model: MODEL,
          system: SYSTEM,
          messages,
          tools: TOOLS,
          agent: { index: 0, phase: 'fix', attempt: 1 },
          signal,
        });
        usage = addUsage(usage, reply.usage);
        const id = `toolu_${turn}`;
        messages.push(
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id, name: 'read_file', input: { path: `src/module${turn}.ts` } }],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: id, content: SYSTEM.slice(turn * 900, turn * 900 + 2400) },
            ],
          },
        );
        clock += spacingMs;
      }
    }
    return {
      ttl,
      serverUsd: serverDollars(server.totals, INPUT_PRICE),
      pricedUsd: costUsd(MODEL, usage)!,
      totals: { ...server.totals },
      headTtls,
    };
  } finally {
    await server.close();
  }
}

/** The rule beside both fixed TTLs, for one phase shape and spacing. */
export async function comparePolicies(shape: Shape, spacingMs: number) {
  const [rule, fiveMinutes, oneHour] = [
    await runPhase(shape, spacingMs, 'auto'),
    await runPhase(shape, spacingMs, '5m'),
    await runPhase(shape, spacingMs, '1h'),
  ];
  return { rule: rule!, fiveMinutes: fiveMinutes!, oneHour: oneHour! };
}
