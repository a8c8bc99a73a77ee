// Queue ids: 26 Crockford base32 characters, ULID-shaped (48-bit millisecond time + 80 random bits),
// so ids sort by arrival time as plain strings and are safe as file names. Within one millisecond the
// random part is incremented, which keeps ids from one source strictly increasing.
import { pooledRandom } from '../util/pooled-random.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdSource = () => string;

/** Ids safe to use as spool file names (also accepts ids injected by tests). */
export const QUEUE_ID_RE = /^[0-9A-Za-z_-]{1,64}$/;

export function createQueueIdSource(clock: () => number = Date.now, random: (n: number) => Buffer = pooledRandom()): IdSource {
  let lastTime = -1;
  let lastRandom: number[] = [];
  return () => {
    const t = Math.max(0, Math.floor(clock()));
    if (t <= lastTime) {
      const inc = increment(lastRandom);
      if (inc) lastRandom = inc;
      else {
        // The random part overflowed: borrow the next millisecond rather than go backwards.
        lastTime += 1;
        lastRandom = new Array<number>(10).fill(0);
      }
    } else {
      lastTime = t;
      lastRandom = Array.from(random(10));
    }
    return encodeTime(lastTime) + encodeRandom(lastRandom);
  };
}

/** Arrival time encoded in an id made by createQueueIdSource (NaN for other ids). */
export function queueIdTime(id: string): number {
  if (id.length !== 26) return NaN;
  let t = 0;
  for (const ch of id.slice(0, 10)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return NaN;
    t = t * 32 + v;
  }
  return t;
}

function encodeTime(t: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: number[]): string {
  // 80 bits → 16 characters of 5 bits.
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: number[]): number[] | null {
  const out = bytes.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 255) {
      out[i]! += 1;
      return out;
    }
    out[i] = 0;
  }
  return null;
}
