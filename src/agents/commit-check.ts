import { type Git, stagedNames } from './workspace-git.js';

/** The check before a run's changes are committed: no staged file may hold a secret the run knows. */

/** What the commit check needs from the redactor. */
export interface SecretScanner {
  redact(text: string): string;
  finds(text: string): boolean;
}

/** The run's changes hold a secret: nothing was committed. The message names files, never the secret. */
export class SecretInChangesError extends Error {
  constructor(readonly files: string[]) {
    super(
      `the run's changes were not committed: ${files.map((f) => `\`${f}\``).join(', ')} ` +
        `${files.length === 1 ? 'holds' : 'hold'} a secret this run knows (the job token, the model key or a configured value, as it is or encoded); ` +
        'nothing was committed or pushed, and the working copy with those changes was removed',
    );
    this.name = 'SecretInChangesError';
  }
}

/**
 * The staged files (as named, redacted) whose name or content holds a secret in a form the
 * redactor knows. Whole files are read from the index, so a secret is found even when an
 * agent's edit only completed it, or when `.gitattributes` marks the file binary.
 */
export async function filesWithSecrets(git: Git, secrets: SecretScanner | undefined): Promise<string[]> {
  if (!secrets) return [];
  const hits: string[] = [];
  for (const file of await stagedNames(git, 'd')) {
    let content = '';
    try {
      content = await git.raw(['cat-file', 'blob', `:0:${file}`]);
    } catch {
      // Not a blob (a submodule's commit): nothing to read.
    }
    if (secrets.finds(file) || secrets.finds(content)) hits.push(secrets.redact(file));
  }
  return hits;
}
