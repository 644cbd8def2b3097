import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Transcript files are written off the main thread: one file per agent means a file created per
 * agent, and creating files synchronously cost about 100 µs of the engine's time per agent here,
 * as much as everything else it does for one. Lines wait in memory up to a second and go out
 * together, in order, through the thread pool; `transcriptsWritten(dir)` waits for every write
 * under a directory (the trace page does, before it reads them).
 */

/** Writes not yet done, by the directory they write under; and each directory's creation. */
const pending = new Map<string, Set<Promise<void>>>();
const made = new Map<string, Promise<unknown>>();

/** Counts a write under `root` until it settles (it must not reject). */
export function trackWrite(root: string, write: Promise<void>): void {
  const set = pending.get(root) ?? new Set<Promise<void>>();
  pending.set(root, set);
  set.add(write);
  void write.finally(() => {
    set.delete(write);
    if (set.size === 0 && pending.get(root) === set) pending.delete(root);
  });
}

/** Resolves once every transcript write under `root` (a run directory) has finished. */
export async function transcriptsWritten(root: string): Promise<void> {
  for (let set = pending.get(root); set && set.size > 0; set = pending.get(root)) await Promise.all([...set]);
  for (const dir of made.keys()) if (dir.startsWith(root)) made.delete(dir);
}

/** How long a line may wait in memory before it is written: a transcript on disk lags at most this. */
export const TRANSCRIPT_STREAM_MS = 1000;

/**
 * An append-only JSON-lines file written asynchronously and in order. Lines wait in memory at most
 * TRANSCRIPT_STREAM_MS, then go out together; `close()` writes what is left at once. An agent that
 * ends within that time costs one append (its file's open, write and close) however many lines it
 * wrote, and a long one still streams to disk as it goes.
 */
export class AsyncJsonLines {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown>;

  constructor(
    readonly path: string,
    /** The run directory the file belongs to, for `transcriptsWritten`. */
    private readonly root: string,
  ) {
    const dir = dirname(path);
    const ready = made.get(dir) ?? mkdir(dir, { recursive: true });
    made.set(dir, ready);
    this.chain = ready;
  }

  appendLine(json: string): void {
    this.lines.push(json);
    this.timer ??= setTimeout(() => this.flush(), TRANSCRIPT_STREAM_MS);
  }

  /** Hands the buffered lines to the thread pool now, after the writes before them. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    // A transcript that cannot be written (a full disk) must not fail the run: it is a record.
    const settled = this.chain
      .then(() => appendFile(this.path, text))
      .then(
        () => undefined,
        () => undefined,
      );
    this.chain = settled;
    trackWrite(this.root, settled);
  }

  /** Writes what is left; the file is complete once `transcriptsWritten` resolves. */
  close(): void {
    this.flush();
  }
}
