import { createHash } from 'node:crypto';

/** The hash an approval binds to: hex sha256 of the exact text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
