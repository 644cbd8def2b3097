/** What a comment asks the bot to do. */
export type Command =
  | { type: 'plan'; request: string }
  | { type: 'approve' }
  | { type: 'revise'; feedback: string }
  | { type: 'cancel' }
  | { type: 'status' }
  | { type: 'resume' }
  | { type: 'help' };

export type Parsed = { command: Command } | { error: string } | { none: true };

const SUBCOMMANDS = new Set(['approve', 'revise', 'cancel', 'status', 'resume', 'help']);

/**
 * The lines of a comment a reader sees as its own prose: not inside a fenced code block (``` or
 * ~~~, any length; an unclosed fence runs to the end), an indented code block (four spaces or a
 * tab) or a `<pre>`/`<code>` element, not quoted (`>`), not hidden in an HTML comment. A command
 * shown as an example, quoted from someone else or hidden is not a command.
 */
function proseLines(body: string): string[] {
  const lines = body
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<(pre|code)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, '')
    .split(/\r?\n/);
  const prose: string[] = [];
  let fence: { char: string; length: number } | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    const marks = /^(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marks?.[0] === fence.char && marks.length >= fence.length && line === marks) fence = undefined;
      continue;
    }
    if (marks && !(marks[0] === '`' && line.slice(marks.length).includes('`'))) {
      fence = { char: marks[0]!, length: marks.length };
      continue;
    }
    if (line.startsWith('>') || /^( {4}|\t)/.test(raw)) continue;
    prose.push(line);
  }
  return prose;
}

/**
 * The first line of prose that starts with `/workflow` or `/approve` is the command; a comment
 * without one is not for the bot. Malformed commands come back as an error to answer with the help text.
 */
export function parseCommand(body: string): Parsed {
  const line = proseLines(body).find((l) => /^\/(workflow|approve)(\s|$)/i.test(l));
  if (line === undefined) return { none: true };
  const [head = '', ...words] = line.split(/\s+/);
  if (head.toLowerCase() === '/approve') {
    return words.length === 0
      ? { command: { type: 'approve' } }
      : { error: '`/approve` takes nothing after it' };
  }
  if (words.length === 0) return { error: '`/workflow` needs a kind or a request, e.g. `/workflow audit`' };
  const sub = words[0]!.toLowerCase();
  const rest = words.slice(1).join(' ');
  if (SUBCOMMANDS.has(sub)) {
    if (sub === 'revise') {
      return rest
        ? { command: { type: 'revise', feedback: rest } }
        : { error: '`/workflow revise` needs feedback, e.g. `/workflow revise only src/api`' };
    }
    if (rest) return { error: `\`/workflow ${sub}\` takes nothing after it` };
    return { command: { type: sub } as Command };
  }
  if (sub === 'migrate' && !rest)
    return { error: '`/workflow migrate` needs a target, e.g. `/workflow migrate CommonJS to ESM`' };
  if (sub === 'research' && !rest) return { error: '`/workflow research` needs a question' };
  return { command: { type: 'plan', request: words.join(' ') } };
}

export const HELP = `**Dynamic Workflows** — multi-agent runs whose plan is code.

| command | what it does |
|---|---|
| \`/workflow audit\` | plan a security audit (also \`bug-hunt\`, \`sweep\`, \`migrate TARGET\`, \`research QUESTION\`, or a request in words) |
| \`/approve\` (or \`/workflow approve\`) | run the newest plan in this thread, exactly as shown |
| \`/workflow revise FEEDBACK\` | a new plan from the old one and your feedback |
| \`/workflow cancel\` | stop the running workflow |
| \`/workflow status\` | where the newest plan stands |
| \`/workflow resume\` | resume a run that stopped, from its journal |
| \`/workflow help\` | this text |

A label \`workflow:KIND\` on an issue plans that kind with the issue's text as the request.`;
