// Session ids in smtp-server's format (80 random bits as 16 base-32 digits, 0-9a-v), from pooled
// random bytes (util/pooled-random.ts). smtp-server calls crypto.randomBytes(10) for every
// connection, which showed as ~20 µs of the event loop per connection under load (bench/README.md).
import { pooledRandom } from '../../util/pooled-random.js';

const ID_BYTES = 10;
const DIGITS = '0123456789abcdefghijklmnopqrstuv';
const random = pooledRandom();

export function newSessionId(): string {
  return formatSessionId(random(ID_BYTES), 0);
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
