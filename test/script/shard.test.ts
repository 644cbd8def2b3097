import { describe, expect, test } from 'vitest';
import { applyShard, splitShards } from '../../src/script/shard.js';
import { runScript } from '../helpers.js';

/** A small deterministic generator, so that the property runs are the same every time. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('splitShards', () => {
  test('every item in exactly one slice, order kept, sizes within 1, the same each time', () => {
    const random = lcg(15);
    for (let run = 0; run < 500; run++) {
      const length = Math.floor(random() * 60);
      const count = 1 + Math.floor(random() * 12);
      const list = Array.from({ length }, (_, i) => `src/f${i}.ts`);
      const slices = splitShards(list, count);
      expect(slices).toHaveLength(count);
      // Concatenated in order, the slices are the list: each item once, order kept.
      expect(slices.flat()).toEqual(list);
      const sizes = slices.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(splitShards([...list], count)).toEqual(slices);
    }
  });

  test('the longer slices come first; more slices than items leaves the last ones empty', () => {
    expect(splitShards(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 3)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
      ['f', 'g'],
    ]);
    expect(splitShards(['a', 'b'], 4)).toEqual([['a'], ['b'], [], []]);
    expect(splitShards([], 2)).toEqual([[], []]);
  });

  test('does not change the list it is given', () => {
    const list = Object.freeze(['a', 'b', 'c']);
    splitShards(list, 2);
    expect(list).toEqual(['a', 'b', 'c']);
  });

  test('refuses a count that is not a whole number of at least 1', () => {
    for (const count of [0, -1, 1.5, Number.NaN]) {
      expect(() => splitShards(['a'], count)).toThrow(/shard count must be a whole number of at least 1/);
    }
  });
});

describe('applyShard', () => {
  const args = { files: ['a', 'b', 'c', 'd', 'e'], rounds: 2 };

  test('without an index, the arguments come back unchanged', () => {
    expect(applyShard(args, { arg: 'files', count: 3 }, undefined)).toEqual({ args });
  });

  test("with an index, a copy with that index's slice", () => {
    const sharded = applyShard(args, { arg: 'files', count: 3 }, 2);
    expect(sharded.args).toEqual({ files: ['e'], rounds: 2 });
    expect(sharded.shard).toEqual({ index: 2, count: 3, items: 1, of: 5 });
    expect(args.files).toHaveLength(5);
  });
});

describe('the shard() global', () => {
  const failing = async (body: string, index?: number) => {
    const { summary } = await runScript(body, index === undefined ? {} : { shard: { index } });
    expect(summary.status).toBe('failed');
    return summary.error ?? '';
  };

  test('returns the arguments unchanged in a run with no shard index', async () => {
    const { summary } = await runScript(
      'return shard({ files: ["a", "b", "c"], n: 1 }, { arg: "files", count: 2 });',
    );
    expect(summary.result).toEqual({ files: ['a', 'b', 'c'], n: 1 });
    expect(summary.shard).toBeUndefined();
  });

  test('an index the count does not reach is a script error naming both', async () => {
    const error = await failing('return shard({ files: ["a", "b"] }, { arg: "files", count: 2 });', 2);
    expect(error).toMatch(/plan\.js:2:\d+: .*shard index 2, but the script splits args\.files into 2 shards/);
  });

  test('a missing or non-list argument is a script error naming it', async () => {
    expect(await failing('return shard({ file: ["a"] }, { arg: "files", count: 2 });', 0)).toMatch(
      /args\.files must be a list to split across shards, but it is missing/,
    );
    expect(await failing('return shard({ files: "a b" }, { arg: "files", count: 2 });')).toMatch(
      /args\.files must be a list to split across shards, but it is string/,
    );
  });

  test('a count below 1, or no options, is a script error', async () => {
    expect(await failing('return shard({ files: ["a"] }, { arg: "files", count: 0 });', 0)).toMatch(
      /"count" must be a whole number of at least 1, got 0/,
    );
    expect(await failing('return shard({ files: ["a"] });')).toMatch(
      /the second argument must be an object, as in shard\(args, \{ arg: "files", count: 3 \}\)/,
    );
    expect(await failing('return shard(undefined, { arg: "files", count: 2 });')).toMatch(
      /the first argument must be the run's arguments/,
    );
  });

  test('the script cannot replace it', async () => {
    const error = await failing('shard = () => ({ files: [] }); return 1;');
    expect(error).toMatch(/read-only|not writable|shard/);
  });

  test('a shard index that is not a whole number is refused before the run starts', async () => {
    await expect(runScript('return 1;', { shard: { index: -1 } })).rejects.toThrow(
      /shard index must be a whole number from 0, got -1/,
    );
  });
});

describe('meta.shard', () => {
  test('names the list argument; anything but a non-empty string is refused', async () => {
    const { checkScript } = await import('../../src/script/check.js');
    const ok = checkScript("export const meta = { name: 'a', description: 'b', shard: 'files' };\nreturn 1;");
    expect(ok.ok && ok.meta.shard).toBe('files');
    const bad = checkScript("export const meta = { name: 'a', description: 'b', shard: 3 };\nreturn 1;");
    expect(bad.ok).toBe(false);
    expect(bad.diagnostics[0]?.message).toMatch(/meta\.shard must name the list argument/);
  });
});
