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

/**
 * Every form of a secret worth hiding: as is, as it appears inside a JSON string (quotes,
 * backslashes and control characters escaped), base64 and base64url at each alignment,
 * URL-encoded, and hex (lower and upper case).
 */
export function secretForms(secret: string): string[] {
  return [...new Set([secret, ...wrappableForms(secret), ...exactForms(secret)])];
}

/** Forms matched only as they are. */
function exactForms(secret: string): string[] {
  const forms = new Set<string>();
  // An event line, a transcript or usage.json is serialised JSON: `"` and `\` arrive escaped.
  forms.add(JSON.stringify(secret).slice(1, -1));
  for (const encoded of [encodeURIComponent(secret), encodeURI(secret)]) forms.add(encoded);
  // Percent-encoding is case-insensitive: %2f and %2F both occur.
  forms.add(encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  return [...forms];
}

/**
 * Encoded forms that tools wrap into lines (`base64` every 76 characters, MIME and PEM likewise,
 * `xxd -p` every 60): matched also with a line break (or its JSON escape) between any two
 * characters.
 */
function wrappableForms(secret: string): string[] {
  const forms = new Set<string>();
  for (const fragment of base64Fragments(secret)) {
    forms.add(fragment);
    forms.add(fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  const hex = Buffer.from(secret, 'utf8').toString('hex');
  forms.add(hex);
  forms.add(hex.toUpperCase());
  return [...forms];
}

/** A line break as text carries it: CRLF or LF, raw or escaped inside a JSON string. */
const BREAK = String.raw`(?:\r?\n|(?:\\r)?\\n)?`;

function acrossLines(form: string): RegExp {
  // Each character is a literal (escaped when special) followed by an optional break: the
  // pattern cannot backtrack beyond one character, so matching stays linear in the text.
  const chars = [...form].map((c) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  return new RegExp(chars.join(BREAK), 'g');
}

/**
 * Replaces every known secret value, and its common encodings, with a marker: the values given
 * explicitly (the GitHub token, the model key, values the configuration names) plus those of
 * secret-looking environment variables.
 */
export class Redactor {
  private readonly values: string[];
  private readonly wrapped: RegExp[];

  constructor(explicit: Array<string | undefined> = [], env: NodeJS.ProcessEnv = {}) {
    const found = new Set<string>();
    for (const value of explicit) if (value && value.length >= 6) found.add(value);
    for (const [name, value] of Object.entries(env)) {
      if (value && value.length >= 8 && SECRET_NAME.test(name)) found.add(value);
    }
    const forms = new Set<string>();
    const wrappable = new Set<string>();
    for (const value of found) {
      for (const form of secretForms(value)) forms.add(form);
      for (const form of wrappableForms(value)) wrappable.add(form);
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.values = [...forms].sort((a, b) => b.length - a.length);
    this.wrapped = [...wrappable].sort((a, b) => b.length - a.length).map(acrossLines);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join('[REDACTED]');
    }
    // Only text with a line break (raw or JSON-escaped) can hold a wrapped form.
    if (out.includes('\n') || out.includes('\\n'))
      for (const pattern of this.wrapped) out = out.replace(pattern, '[REDACTED]');
    return out;
  }

  /** True when `text` holds any known secret in any form this redactor knows. */
  finds(text: string): boolean {
    return this.size > 0 && this.redact(text) !== text;
  }

  /**
   * A copy of a JSON-like value with every string (keys included) redacted: for what is
   * serialised afterwards, so a replacement can never break the JSON around it.
   */
  redactValue<T>(value: T): T {
    if (this.size === 0) return value;
    // Iterative, so a value nested as deep as the script may make it cannot overflow the stack.
    type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number; value: unknown };
    const holder: Record<string, unknown> = {};
    const todo: Slot[] = [{ parent: holder, key: 'value', value }];
    for (let slot = todo.pop(); slot; slot = todo.pop()) {
      const v = slot.value;
      let out: unknown = v;
      if (typeof v === 'string') out = this.redact(v);
      else if (Array.isArray(v)) {
        const list: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) todo.push({ parent: list, key: i, value: v[i] });
        out = list;
      } else if (v !== null && typeof v === 'object') {
        const object: Record<string, unknown> = {};
        for (const [k, item] of Object.entries(v)) {
          const key = this.redact(k);
          // Defined, not assigned: keys keep their order, and `__proto__` stays a plain key.
          Object.defineProperty(object, key, {
            value: undefined,
            writable: true,
            enumerable: true,
            configurable: true,
          });
          todo.push({ parent: object, key, value: item });
        }
        out = object;
      }
      (slot.parent as Record<string | number, unknown>)[slot.key] = out;
    }
    return holder.value as T;
  }

  /**
   * A JSON text with every secret redacted, still valid JSON: the text itself is redacted (no copy
   * of the value, which is what makes it cheap), and in the rare case where a replacement broke the
   * JSON (a secret matched across its syntax, or inside a number), the value is redacted string
   * by string instead, as `redactValue` does.
   */
  redactJson(json: string): string {
    if (this.size === 0) return json;
    const out = this.redact(json);
    if (out === json) return json;
    try {
      JSON.parse(out);
      return out;
    } catch {
      return JSON.stringify(this.redactValue(JSON.parse(json)));
    }
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
