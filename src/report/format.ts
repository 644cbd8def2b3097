export function formatTokens(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatUsd(usd: number | null): string {
  return usd === null ? '$ unknown' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** A fence longer than any run of backticks in the text, so the text cannot close it early. */
export function fenceFor(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

/**
 * Text from outside the bot made unable to open or close an HTML comment: what the bot repeats of
 * it can never hide text or carry a marker. The dashes become U+2010 hyphens, which read the same.
 */
export function neutralise(text: string): string {
  return text.replace(/<!--/g, '<!\u2010\u2010').replace(/--(!?)>/g, '\u2010\u2010$1>');
}

/** Text on one line, safe in a table cell: no pipe splits it, no `<!--` hides what follows. */
export function cell(value: unknown): string {
  return neutralise(
    String(value ?? '')
      .replace(/\|/g, '\\|')
      .replace(/\r?\n/g, ' '),
  );
}

/** A range as a plan shows it: `min–max`, or one value when they are the same. */
export function span(min: number, max: number, show: (n: number) => string): string {
  return min === max ? show(min) : `${show(min)}–${show(max)}`;
}

/** A count with its noun: `1 agent`, `2 agents`, `1 phase`. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
