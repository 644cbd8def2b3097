import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveModel } from '../../src/models/resolve.js';
import type { ModelProvider } from '../../src/models/types.js';
import { readJson, runScript } from '../helpers.js';

/** The simulator, recording the first user message of every agent. */
function recordingSim(): ModelProvider & { prompts: string[] } {
  const sim = resolveModel('sim');
  const prompts: string[] = [];
  return {
    ...sim,
    prompts,
    complete(request, observer) {
      const first = request.messages[0];
      if (first && request.messages.length === 1) {
        const content = first.content;
        prompts.push(typeof content === 'string' ? content : JSON.stringify(content));
      }
      return sim.complete(request, observer);
    },
  };
}

const FILES = ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts', 'g.ts'];
const SCRIPT = `export const meta = { name: 'sharded', description: 'one agent per file', shard: 'files' };

const args = shard(${JSON.stringify({ files: FILES, rounds: 1 })}, { arg: "files", count: 3 });
await parallel(args.files.map((f) => () => agent('Review the file ' + f + ' for bugs.', { label: f })));
return { files: args.files, rounds: args.rounds };
`;

const reviewed = (prompts: string[]) =>
  prompts
    .map((p) => /Review the file (\S+) for bugs/.exec(p)?.[1])
    .filter((f) => f !== undefined)
    .sort();

describe('a sharded script run through runWorkflow', () => {
  test('shard index 1 of 3: its agents get that slice of the files, and the record says which shard', async () => {
    const provider = recordingSim();
    const { summary, logged } = await runScript(SCRIPT, { provider, shard: { index: 1 } });
    expect(summary.status).toBe('completed');
    expect(reviewed(provider.prompts)).toEqual(['d.ts', 'e.ts']);
    expect(summary.result).toEqual({ files: ['d.ts', 'e.ts'], rounds: 1 });
    expect(summary.shard).toEqual({ index: 1, count: 3 });
    expect(readJson<{ shard?: unknown }>(join(summary.runDir, 'result.json')).shard).toEqual({
      index: 1,
      count: 3,
    });
    expect(
      logged.some((e) => e.type === 'log' && e.message.includes('shard 2 of 3 (index 1): 2 of 7 items')),
    ).toBe(true);
  });

  test('every index together covers every file once', async () => {
    const seen: string[] = [];
    for (const index of [0, 1, 2]) {
      const provider = recordingSim();
      const { summary } = await runScript(SCRIPT, { provider, shard: { index } });
      expect(summary.shard).toEqual({ index, count: 3 });
      seen.push(...reviewed(provider.prompts));
    }
    expect(seen.sort()).toEqual(FILES);
  });

  test('without a shard index, one runner reviews every file and the record has no shard', async () => {
    const provider = recordingSim();
    const { summary } = await runScript(SCRIPT, { provider });
    expect(reviewed(provider.prompts)).toEqual(FILES);
    expect(summary.shard).toBeUndefined();
    expect(readJson<{ shard?: unknown }>(join(summary.runDir, 'result.json')).shard).toBeUndefined();
  });
});
