import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Transcript files are written off the main thread: one file per agent means a file created per
 * agent, and creating files synchronously cost about 100 µs of the engine's time per agent here,
 * as much as everything else it does for one. Lines appended in one turn of the event loop go out
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

/**
 * An append-only JSON-lines file written asynchronously, in order, one batch per event-loop turn,
 * through one handle opened at the first write and closed by `close()` (one open and one close per
 * file, not one per batch).
 */
export class AsyncJsonLines {
  private lines: string[] = [];
  private scheduled = false;
  private chain: Promise<unknown>;
  private handle: Promise<FileHandle> | undefined;

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
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Hands the buffered lines to the thread pool now, after the writes before them. */
  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    const write = this.chain.then(async () => {
      this.handle ??= open(this.path, 'a');
      await (await this.handle).write(text);
    });
    // A transcript that cannot be written (a full disk) must not fail the run: it is a record.
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.chain = settled;
    trackWrite(this.root, settled);
  }

  /** Writes what is buffered, then closes the file; later lines would open it again. */
  close(): void {
    this.flush();
    const closed = this.chain.then(async () => {
      const handle = this.handle;
      this.handle = undefined;
      await (await handle)?.close();
    });
    const settled = closed.then(
      () => undefined,
      () => undefined,
    );
    this.chain = settled;
    trackWrite(this.root, settled);
  }
}
