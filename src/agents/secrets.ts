/** Names of environment variables that hold secrets. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE)/i;

/** Shorter encoded fragments would match ordinary text. */
const MIN_FRAGMENT = 8;

/**
 * The base64 text that encodes `secret` wherever it sits in a longer encoded blob: one fragment
 * per alignment (the secret starting 0, 1 or 2 bytes into a 3-byte group), each without the
 * characters its neighbours' bits would change. `x-access-token:TOKEN` in base64 holds the
 * token's fragment for offset 15 % 3 = 0, for example.
 */
export function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((offset * 8) / 6);
    const last = Math.floor(((offset + bytes.length) * 8) / 6);
    const fragment = encoded.slice(first, last);
    if (fragment.length >= MIN_FRAGMENT) out.push(fragment);
  }
  return out;
}

/** Every form of a secret worth hiding: as is, base64 and base64url at each alignment, URL-encoded. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  for (const fragment of base64Fragments(secret)) {
    forms.add(fragment);
    forms.add(fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  for (const encoded of [encodeURIComponent(secret), encodeURI(secret)]) forms.add(encoded);
  // Percent-encoding is case-insensitive: %2f and %2F both occur.
  forms.add(encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  return [...forms];
}

/**
 * Replaces every known secret value, and its common encodings, with a marker: the values given
 * explicitly (the GitHub token, the model key, values the configuration names) plus those of
 * secret-looking environment variables.
 */
export class Redactor {
  private readonly values: string[];

  constructor(explicit: Array<string | undefined> = [], env: NodeJS.ProcessEnv = {}) {
    const found = new Set<string>();
    for (const value of explicit) if (value && value.length >= 6) found.add(value);
    for (const [name, value] of Object.entries(env)) {
      if (value && value.length >= 8 && SECRET_NAME.test(name)) found.add(value);
    }
    const forms = new Set<string>();
    for (const value of found) for (const form of secretForms(value)) forms.add(form);
    // Longest first, so a secret that contains another is replaced whole.
    this.values = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join('[REDACTED]');
    }
    return out;
  }

  /** How many secret forms it looks for. */
  get size(): number {
    return this.values.length;
  }
}

/** The values of the environment variables a configuration names as secrets (`redactEnv`). */
export function configuredSecrets(names: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return names.map((name) => env[name]).filter((value): value is string => Boolean(value));
}
