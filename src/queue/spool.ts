// Message bodies as files: <dir>/<queueId>.eml. A body is written under a temporary name, fsynced,
// renamed into place, and the directory is fsynced once per batch, so after a crash a body file either
// exists complete under its final name or not at all. Stray temporaries are removed on open.
import { promises as fsp, mkdirSync, openSync, fsyncSync, closeSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeNewFileSynced } from '../util/durable-file.js';

const TEMP_PREFIX = '.tmp-';
const SUFFIX = '.eml';

export interface SpoolWrite {
  queueId: string;
  body: Buffer;
}

export interface SpoolScan {
  /** queueIds that have a complete body file. */
  bodies: Set<string>;
  /** Temporary names left by a write that never finished. */
  temps: string[];
  /** Names that are neither (reported, left alone). */
  strangers: string[];
}

export class Spool {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  pathFor(queueId: string): string {
    return join(this.dir, queueId + SUFFIX);
  }

  /**
   * Writes every body durably: the file fsyncs run in parallel (libuv thread pool), then one fsync of
   * the directory makes all the renames durable together. On any error, files of this batch are
   * removed (best effort) and the error is rethrown: nothing of a failed batch is promised.
   */
  async writeBatch(items: readonly SpoolWrite[]): Promise<void> {
    if (items.length === 0) return;
    const results = await Promise.allSettled(items.map((it) => this.writeOne(it)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.removeBatch(items);
      throw failed.reason;
    }
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      this.removeBatch(items);
      throw err;
    }
  }

  private async writeOne({ queueId, body }: SpoolWrite): Promise<void> {
    const temp = join(this.dir, TEMP_PREFIX + queueId);
    await writeNewFileSynced(temp, body);
    await fsp.rename(temp, this.pathFor(queueId));
  }

  /** Best effort cleanup after a failed batch: a leftover is removed by recovery on the next open. */
  removeBatch(items: readonly SpoolWrite[]): void {
    for (const { queueId } of items) {
      for (const path of [this.pathFor(queueId), join(this.dir, TEMP_PREFIX + queueId)]) {
        try {
          removeQuietly(path);
        } catch {
          /* e.g. EISDIR, EACCES: leave it to recovery */
        }
      }
    }
  }

  read(queueId: string): Buffer {
    return readFileSync(this.pathFor(queueId));
  }

  /** Removes a body; a body already gone is not an error (removal is retried by recovery). */
  remove(queueId: string): void {
    removeQuietly(this.pathFor(queueId));
  }

  scan(): SpoolScan {
    const out: SpoolScan = { bodies: new Set(), temps: [], strangers: [] };
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) out.temps.push(name);
      else if (name.endsWith(SUFFIX)) out.bodies.add(name.slice(0, -SUFFIX.length));
      else out.strangers.push(name);
    }
    return out;
  }

  removeTemp(name: string): void {
    if (name.startsWith(TEMP_PREFIX) && !name.includes('/')) removeQuietly(join(this.dir, name));
  }

  /** Makes removals durable (used after recovery, which may delete many files). */
  syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}


function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
