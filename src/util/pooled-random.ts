// CSPRNG bytes drawn 4 KB at a time: a randomBytes call (a system call and a native job) per id
// showed up in the relay's profile, for queue ids and for SMTP session ids alike. Every byte is
// still handed out once.
import { randomBytes } from 'node:crypto';

/** A source of `n` random bytes at a time: a view into the current pool, never handed out twice. */
export function pooledRandom(): (n: number) => Buffer {
  let pool = Buffer.alloc(0);
  let off = 0;
  return (n) => {
    if (off + n > pool.length) {
      pool = randomBytes(Math.max(4096, n));
      off = 0;
    }
    const out = pool.subarray(off, off + n);
    off += n;
    return out;
  };
}
