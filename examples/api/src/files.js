import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

/** The content of a file in public/, or undefined when there is no such file. */
export async function readPublicFile(name) {
  const path = join(PUBLIC_DIR, name);
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}
