import { type OutputUnit, Validator } from '@cfworker/json-schema';
import type { JsonSchema } from '../models/types.js';

const cache = new Map<string, Validator>();

/** Checks that a schema can bind an agent's answer: JSON Schema whose root is an object. */
export function schemaProblem(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return 'opts.schema must be a JSON Schema object';
  }
  if ((schema as JsonSchema).type !== 'object') {
    return 'opts.schema must describe an object at its root ({ type: "object", properties: ... })';
  }
  return undefined;
}

function validatorFor(schema: JsonSchema): Validator {
  const key = JSON.stringify(schema);
  let validator = cache.get(key);
  if (!validator) {
    // Interpreted, not compiled to code: schemas come from scripts, which are untrusted.
    validator = new Validator(schema as never, '2020-12', false);
    cache.set(key, validator);
  }
  return validator;
}

function describe(errors: OutputUnit[]): string {
  // The deepest errors say the most; the summaries above them repeat it.
  const leaves = errors.filter(
    (e) => !errors.some((o) => o !== e && o.instanceLocation.startsWith(`${e.instanceLocation}/`)),
  );
  const lines = (leaves.length > 0 ? leaves : errors)
    .slice(0, 8)
    .map((e) => `${e.instanceLocation === '#' ? '(root)' : e.instanceLocation.slice(2)}: ${e.error}`);
  return [...new Set(lines)].join('; ');
}

export type Validation = { ok: true; value: unknown } | { ok: false; error: string };

/** Validates an answer; text is parsed as JSON first (a fenced ```json block is accepted). */
export function validateAnswer(schema: JsonSchema, answer: { text: string; output?: unknown }): Validation {
  let value = answer.output;
  if (value === undefined) {
    const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/.exec(answer.text);
    const candidate = (fenced?.[1] ?? answer.text).trim();
    try {
      value = JSON.parse(candidate);
    } catch {
      return { ok: false, error: 'the reply is not JSON: reply with only the JSON object' };
    }
  }
  const result = validatorFor(schema).validate(value);
  return result.valid ? { ok: true, value } : { ok: false, error: describe(result.errors) };
}
