/** Names of environment variables that hold secrets. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE)/i;

/** The only variables a command an agent runs may see. Everything else, keys and tokens included, is dropped. */
const ALLOWED_ENV = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM', 'TMPDIR', 'NODE_VERSION'];

export function scrubbedEnv(env: NodeJS.ProcessEnv, home: string): Record<string, string> {
  const out: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const name of ALLOWED_ENV) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  // A home of its own, so no ~/.npmrc, ~/.gitconfig or credential helper is read.
  return { ...out, HOME: home, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', GIT_TERMINAL_PROMPT: '0' };
}

/**
 * Replaces every known secret value with a marker: the values of secret-looking environment
 * variables, plus any given explicitly (the model key, the GitHub token).
 */
export class Redactor {
  private readonly values: string[];

  constructor(explicit: Array<string | undefined> = [], env: NodeJS.ProcessEnv = {}) {
    const found = new Set<string>();
    for (const value of explicit) if (value && value.length >= 6) found.add(value);
    for (const [name, value] of Object.entries(env)) {
      if (value && value.length >= 8 && SECRET_NAME.test(name)) found.add(value);
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.values = [...found].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join('[REDACTED]');
    }
    return out;
  }

  get size(): number {
    return this.values.length;
  }
}
