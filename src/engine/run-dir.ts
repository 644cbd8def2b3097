import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A sortable, readable id: UTC time of start plus a random suffix. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The shape of every id `newRunId` makes, e.g. `20261126-142501-3fa9c2`. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{6}$/;

export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID_PATTERN.test(value);
}

/**
 * A run id, checked before it names a path: ids arrive from comments, inputs and artifacts, and
 * only the shape `newRunId` makes can never climb out of the runs directory.
 */
export function checkRunId(value: unknown): string {
  if (isRunId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  throw new RangeError(
    `${shown} is not a run id: run ids look like 20261126-142501-3fa9c2 (date, time and six hex digits, as ` +
      '`dwf run` prints them); give the id of a run in the runs directory',
  );
}

/**
 * An append-only JSON-lines file, buffered per event-loop turn: lines appended in one turn go out
 * in one write(2) at the end of it (or sooner, on `flush()`), so a killed process loses at most
 * the lines of the turn it was killed in, and never tears a line already written.
 *
 * The durability rule of a run (see `runWorkflow`): the journal is flushed before the script's
 * pending jobs run, so the journal line of every agent whose result the script has seen is on
 * disk; events may lose the current turn.
 */
export class JsonLines {
  private fd: number | undefined;
  private buffer: string[] = [];
  private scheduled = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  append(value: unknown): void {
    this.appendLine(JSON.stringify(value));
  }

  /** Appends one line that is already JSON; it is written by the end of this turn. */
  appendLine(json: string): void {
    if (this.fd === undefined) return;
    this.buffer.push(json);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Writes every buffered line now, in one write. */
  flush(): void {
    if (this.fd === undefined || this.buffer.length === 0) return;
    // An empty last line makes join() end the text with a line break, in one flat string.
    this.buffer.push('');
    const text = this.buffer.join('\n');
    this.buffer = [];
    // The text goes to write(2) without a Buffer copy on the heap; only a short write (rare on a
    // regular file) needs the rest as bytes.
    const written = writeSync(this.fd, text);
    if (written === Buffer.byteLength(text)) return;
    const bytes = Buffer.from(text);
    for (let at = written; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a JSON-lines file, skipping a torn last line left by a killed writer. */
export function readJsonLines<T>(path: string): T[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (error) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
        throw new Error(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
      }
    }
  });
  return out;
}

/** Writes JSON via a temporary file and a rename, so readers never see half a file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

export interface RunPaths {
  dir: string;
  script: string;
  journal: string;
  events: string;
  result: string;
  usage: string;
}

/** The files of one run; the id is checked first (see `checkRunId`). */
export function runPaths(runsDir: string, runId: string): RunPaths {
  const dir = join(runsDir, checkRunId(runId));
  return {
    dir,
    script: join(dir, 'script.js'),
    journal: join(dir, 'journal.jsonl'),
    events: join(dir, 'events.jsonl'),
    result: join(dir, 'result.json'),
    usage: join(dir, 'usage.json'),
  };
}

export function createRunDir(runsDir: string, runId: string, script: string): RunPaths {
  const paths = runPaths(runsDir, runId);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.script, script);
  return paths;
}
