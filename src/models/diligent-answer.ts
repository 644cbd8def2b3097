import type { JsonSchema } from './types.js';

/**
 * The answer a diligent agent gives once it has read what it needed: valid against the schema,
 * with the sizes real answers have (a title of a line, a description or evidence of a paragraph,
 * a summary of a few paragraphs) and, for the list of things found, the world's count per file.
 */

export interface AnswerSizes {
  /** Characters of a short field (title, name, label). */
  short: number;
  /** Characters of a prose field (description, evidence, summary of one thing). */
  prose: number;
  /** Characters of a free-text answer (no schema: a synthesizer's report). */
  report: number;
}

export interface AnswerWorld {
  world: 'quiet' | 'busy';
  /** Things found in the file an agent was given (the list of findings' length). */
  found: number;
  sizes: AnswerSizes;
  /** Lines of the file, for line numbers. */
  lines: number;
  seed: number;
}

/** Boolean fields that say "this is done": true in the quiet world, false in the busy one; the others the reverse. */
const SAYS_DONE = /fix|pass|resolv|done|complet|kept|success|correct|ok$/i;
const SHORT = /title|name|label|file|path|id$|severity|kind|type|status/i;

const WORDS =
  'the function reads the value before the check so a caller that passes an empty or negative input reaches the branch that assumes a parsed flag and the error is dropped while the state stays changed which a later call then trusts'.split(
    ' ',
  );

/** Deterministic prose of about `chars` characters. */
export function prose(chars: number, seed: number): string {
  const out: string[] = [];
  let length = 0;
  for (let i = seed % WORDS.length; length < chars; i++) {
    const word = WORDS[i % WORDS.length]!;
    out.push(word);
    length += word.length + 1;
  }
  return `${out.join(' ').slice(0, Math.max(1, chars - 1))}.`;
}

export function answerFor(schema: JsonSchema, how: AnswerWorld, key = 'value', depth = 0): unknown {
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0)
    return schema.enum[Math.min(schema.enum.length - 1, how.world === 'busy' ? schema.enum.length - 1 : 0)];
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants) && variants.length > 0) return answerFor(variants[0]!, how, key, depth);
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>))
        out[name] = answerFor(sub, how, name, depth + 1);
      return out;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Number.POSITIVE_INFINITY;
      const count = Math.min(Math.max(how.found, min), max);
      const items = (schema.items ?? {}) as JsonSchema;
      return Array.from({ length: count }, (_, i) =>
        answerFor(items, { ...how, seed: how.seed + i * 7 }, `${key}-${i + 1}`, depth + 1),
      );
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 1;
      const max = typeof schema.maximum === 'number' ? schema.maximum : Math.max(min, how.lines);
      return Math.min(max, min + ((how.seed * 37) % Math.max(1, max - min + 1)));
    }
    case 'boolean':
      return how.world === 'quiet' ? SAYS_DONE.test(key) : !SAYS_DONE.test(key);
    case 'null':
      return null;
    case 'string': {
      const wanted = SHORT.test(key) ? how.sizes.short : how.sizes.prose;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
      return prose(Math.min(max, Math.max(min, wanted)), how.seed + key.length);
    }
    default:
      return prose(how.sizes.short, how.seed);
  }
}
