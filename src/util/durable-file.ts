// Writing files that survive a crash: the primitives the queue spool and the Maildir share.
import { promises as fsp } from 'node:fs';

/**
 * Creates `path` exclusively ('wx': an existing file is a name collision and must not be clobbered),
 * writes `data` and fdatasyncs it. The caller renames it into place and then fsyncs the directory.
 */
export async function writeNewFileSynced(path: string, data: Buffer, mode = 0o640): Promise<void> {
  const fh = await fsp.open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    // fdatasync covers the data and the size needed to read it back; the name is the directory's job.
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so that the entries created or renamed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
