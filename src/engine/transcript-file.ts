import { appendFile } from 'node:fs/promises';

/**
 * The transcripts file is written off the main thread: synchronous writes of every agent's lines
 * would cost the engine as much time per agent as everything else it does for one. Lines wait in
 * memory up to a second and go out together, in order, through the thread pool;
 * `transcriptsWritten(dir)` waits for every write under a run directory (the end of the run does,
 * and so does the trace page before it reads them).
 */

/** Writes not yet done, by the run directory they write under. */
const pending = new Map<string, Set<Promise<void>>>();

/** Counts a write under `root` until it settles (it must not reject). */
function trackWrite(root: string, write: Promise<void>): void {
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
}

/** How long a line may wait in memory before it is written: a transcript on disk lags at most this. */
export const TRANSCRIPT_STREAM_MS = 1000;

/**
 * How many characters of lines may wait in memory before they are written, whatever the time: a
 * busy run writes as it goes (off the main thread), instead of all at its end.
 */
export const TRANSCRIPT_STREAM_CHARS = 64 * 1024;

/**
 * An append-only JSON-lines file written asynchronously and in order. Lines wait in memory at most
 * TRANSCRIPT_STREAM_MS (or until TRANSCRIPT_STREAM_CHARS are waiting), then go out together in one
 * append; `flush()` writes what is waiting at once.
 */
export class AsyncJsonLines {
  private lines: string[] = [];
  private waiting = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    /** The run directory the file belongs to, for `transcriptsWritten`. */
    private readonly root: string,
  ) {}

  appendLine(json: string): void {
    this.lines.push(json);
    this.waiting += json.length;
    if (this.waiting >= TRANSCRIPT_STREAM_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), TRANSCRIPT_STREAM_MS);
  }

  /** Counts work that will append lines (and flush them) as a write, for `transcriptsWritten`. */
  track(work: Promise<void>): void {
    trackWrite(
      this.root,
      work.then(
        () => this.flush(),
        () => this.flush(),
      ),
    );
  }

  /** Hands the buffered lines to the thread pool now, after the writes before them. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    // An empty last line makes join() end the text with a line break, in one flat string.
    this.lines.push('');
    const text = this.lines.join('\n');
    this.lines = [];
    this.waiting = 0;
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
}
