// Session ids in smtp-server's format (80 random bits as 16 base-32 digits, 0-9a-v), drawn from a
// pool of random bytes refilled 4 KB at a time. smtp-server calls crypto.randomBytes(10) for every
// connection, which showed as ~20 µs of the event loop per connection under load (bench/README.md);
// the ids stay as unpredictable, since every byte still comes from the CSPRNG exactly once.
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 10;
const POOL = Buffer.alloc(4096 - (4096 % ID_BYTES));
let offset = POOL.length;
const DIGITS = '0123456789abcdefghijklmnopqrstuv';

export function newSessionId(): string {
  if (offset + ID_BYTES > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const id = formatSessionId(POOL, offset);
  offset += ID_BYTES;
  return id;
}

/** Ten bytes from `at` as smtp-server writes them: BigInt('0x' + hex).toString(32).padStart(16, '0'). */
export function formatSessionId(bytes: Uint8Array, at: number): string {
  // 80 bits = two 40-bit halves (exact in a double), each eight 5-bit digits, big-endian
  let out = '';
  for (let half = 0; half < 2; half++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + bytes[at + half * 5 + i]!;
    let digits = '';
    for (let i = 0; i < 8; i++) {
      digits = DIGITS[v % 32]! + digits;
      v = Math.floor(v / 32);
    }
    out += digits;
  }
  return out;
}
