// Which process owns a queue directory. Recovery deletes spool files whose rows have not committed,
// which is only safe when no other process is halfway through a commit. So the first opener writes
// its pid to <dir>/owner.pid; a later opener (the CLI while a role runs) that finds a live pid opens
// in shared mode: no recovery, no new lease epoch. A stale pid (its process died, e.g. kill -9) is
// taken over. Node has no flock(); a reused pid errs on the safe side (recovery waits a restart).
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface OwnerLock {
  owner: boolean;
  release(): void;
}

export function acquireOwnerLock(dir: string, pid = process.pid): OwnerLock {
  const file = join(dir, 'owner.pid');
  if (tryCreate(file, pid)) return ownerOf(file, pid);
  const holder = readPid(file);
  if (holder !== null && isAlive(holder)) return { owner: false, release: () => {} };
  // Stale: replace atomically so a reader never sees an empty file.
  const temp = `${file}.${pid}`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  return ownerOf(file, pid);
}

function ownerOf(file: string, pid: number): OwnerLock {
  return {
    owner: true,
    release: () => {
      if (readPid(file) !== pid) return;
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    },
  };
}

function tryCreate(file: string, pid: number): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
