/**
 * The script as the instance runs it, and what comes back out: the wrapper around the checked
 * body (its result made JSON in the guest), the author's line and column in an error's stack, and
 * the result read back in the host.
 */
import { GUEST_LIMITS, MAX_RESULT_DEPTH } from './limits.js';

// Everything the wrapper adds stands on the script's first line, so line numbers are the author's.
// The result becomes JSON in the guest, under the CPU cap, and is refused there when too large.
const PREFIX = '(async function () {"use strict";';
const SUFFIX = `
})().then((v) => {
  let json;
  try { json = JSON.stringify({ v: v === undefined ? null : v }); }
  catch (e) { throw new TypeError('the script returned a value that cannot be saved as JSON: ' + e.message); }
  if (typeof json === 'string' && json.length > ${GUEST_LIMITS.result}) {
    throw new RangeError('the script returned ' + json.length + ' characters of JSON; the limit is ${GUEST_LIMITS.result}: return a summary and let agents write the details to files');
  }
  return json;
})`;

/** The program the instance evaluates for a checked script body: a promise of the result's JSON. */
export function wrapScript(body: string): string {
  return `${PREFIX}${body}${SUFFIX}`;
}

/** Where in the author's script a guest stack points, if it names the script's file. */
export function locate(
  file: string,
  stack: string | undefined,
): { line: number; column: number } | undefined {
  if (!stack) return undefined;
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`\\(${escaped}:(\\d+):(\\d+)\\)`).exec(stack);
  if (!match) return undefined;
  const line = Number(match[1]);
  let column = Number(match[2]);
  if (line === 1) column = Math.max(1, column - PREFIX.length);
  return { line, column };
}

/** How deeply arrays and objects nest in a JSON text, in one pass (strings skipped). */
export function jsonDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}

/**
 * The script's result from the JSON the wrapper made of it (undefined when the guest did not give
 * a string), or why it cannot be taken.
 */
export function readResult(json: string | undefined): { value: unknown } | { refused: string } {
  if (json === undefined) {
    return {
      refused: 'the script did not finish with a readable result (were JSON.stringify or promises replaced?)',
    };
  }
  // The host writes the result out (result.json, the report) with recursive code of its own.
  // Each level takes at least two characters: a short result needs no scan.
  const depth = json.length > 2 * MAX_RESULT_DEPTH ? jsonDepth(json) - 1 : 0;
  if (depth > MAX_RESULT_DEPTH) {
    return {
      refused:
        `the script returned a value nested ${depth} levels deep; the limit is ${MAX_RESULT_DEPTH}: ` +
        'return something flatter',
    };
  }
  return { value: (JSON.parse(json) as { v: unknown }).v };
}
