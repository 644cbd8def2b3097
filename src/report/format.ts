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
