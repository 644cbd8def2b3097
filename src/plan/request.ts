/** What someone asked for: a built-in kind with its parameters, or free text for a model to plan. */
export type PlanRequest =
  | { kind: 'audit' | 'bug-hunt' | 'sweep'; text: string }
  | { kind: 'migrate'; text: string; target: string }
  | { kind: 'research'; text: string; question: string }
  | { kind: 'custom'; text: string };

export const BUILTIN_KINDS = ['audit', 'bug-hunt', 'migrate', 'research', 'sweep'] as const;

export class PlanRequestError extends Error {}

/** `audit`, `bug-hunt`, `sweep`, `migrate TARGET`, `research QUESTION`, or anything else as free text. */
export function parsePlanRequest(input: string): PlanRequest {
  const text = input.trim();
  if (text === '')
    throw new PlanRequestError(
      'say what to plan: audit, bug-hunt, sweep, migrate TARGET, research QUESTION, or a request in words',
    );
  const [first = '', ...rest] = text.split(/\s+/);
  const word = first.toLowerCase();
  const tail = rest.join(' ').trim();
  if (word === 'audit' || word === 'bug-hunt' || word === 'sweep') {
    return tail === '' ? { kind: word, text } : { kind: 'custom', text };
  }
  if (word === 'migrate') {
    if (tail === '') throw new PlanRequestError('migrate needs a target, e.g. "migrate CommonJS to ESM"');
    return { kind: 'migrate', text, target: tail };
  }
  if (word === 'research') {
    if (tail === '')
      throw new PlanRequestError('research needs a question, e.g. "research where is user input validated?"');
    return { kind: 'research', text, question: tail };
  }
  return { kind: 'custom', text };
}
