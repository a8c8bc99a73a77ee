// Line-end hygiene for DATA. smtp-server ends DATA only on <CRLF>.<CRLF> but hands bare CR and bare LF
// through untouched (and unstuffs a dot after a bare LF), so what we store could be framed
// differently by the next hop. This Transform sits on the unstuffed data stream and:
//  - rewrites every bare LF and bare CR as CRLF, so nothing downstream can read a line end we did not;
//  - flags a smuggling attempt: a line holding only "." where either line end around it is bare
//    (<LF>.<CRLF>, <CRLF>.<LF>, <CR>.<CR>, ...). A lone "." between two CRLFs is fine: it reached us
//    dot-stuffed (".."), and our SMTP client stuffs it again on the way out;
//  - flags a line longer than `maxLineLength` octets counting its CRLF (RFC 5321 §4.5.3.1.6).
// Once a problem is flagged the stream keeps consuming (the client must be drained to the terminator)
// but emits nothing more, so a rejected message is never buffered.

import { Transform, type TransformCallback } from 'node:stream';

export type DataProblem = 'smuggling' | 'line-too-long';

export interface DataNormalizerOptions {
  /** Longest allowed line in octets, CRLF included. */
  maxLineLength: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

export class DataNormalizer extends Transform {
  /** First problem seen; null while the data is clean. */
  problem: DataProblem | null = null;
  /** Bare CR/LF rewritten to CRLF so far. */
  bareLineEnds = 0;
  /** Octets consumed (the message size as received, after dot-unstuffing). */
  bytesIn = 0;

  private readonly maxContent: number;
  // Octets in the current line so far, line end excluded.
  private lineLen = 0;
  // The current line is exactly "." so far.
  private lineIsDot = false;
  // The line end before the current line was bare (start of data counts as a proper line end).
  private prevEndBare = false;
  // The previous chunk ended with CR: we cannot tell a bare CR from CRLF until the next byte.
  private pendingCR = false;

  constructor(opts: DataNormalizerOptions) {
    super();
    this.maxContent = Math.max(0, opts.maxLineLength - 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (const b of this.feed(chunk)) this.push(b);
    done();
  }

  override _flush(done: TransformCallback): void {
    for (const b of this.finish()) this.push(b);
    done();
  }

  /**
   * The same work without the stream machinery (receiveData calls it directly): consumes a chunk and
   * returns what to keep, nothing once a problem is flagged. Pieces may be views of `chunk`.
   */
  feed(chunk: Buffer): Buffer[] {
    this.bytesIn += chunk.length;
    const out: Buffer[] = [];
    let i = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] === LF) {
        this.endLine(false);
        i = 1;
      } else {
        this.endLine(true);
      }
      out.push(CRLF);
    }
    let start = i; // first byte of `chunk` not yet copied to `out`
    const len = chunk.length;
    // next CR / LF at or after i, cached so a chunk with only one kind of line end stays linear
    let cr = -2;
    let lf = -2;
    while (i < len) {
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      if (lf !== -1 && lf < i) lf = chunk.indexOf(LF, i);
      const next = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (next < 0) {
        this.addContent(chunk, i, len);
        break;
      }
      this.addContent(chunk, i, next);
      if (chunk[next] === LF) {
        // bare LF: copy up to it, write CRLF instead
        out.push(chunk.subarray(start, next), CRLF);
        this.endLine(true);
        i = start = next + 1;
      } else if (next + 1 === len) {
        // CR at the end of the chunk: decide with the next chunk
        out.push(chunk.subarray(start, next));
        this.pendingCR = true;
        i = start = len;
      } else if (chunk[next + 1] === LF) {
        this.endLine(false);
        i = next + 2; // CRLF is kept as it is, no copy needed
      } else {
        out.push(chunk.subarray(start, next), CRLF);
        this.endLine(true);
        i = start = next + 1;
      }
    }
    if (start < len) out.push(chunk.subarray(start, len));
    return this.problem === null ? out.filter((b) => b.length > 0) : [];
  }

  /** End of data: what is still held back (a final CR), and the last checks. */
  finish(): Buffer[] {
    if (this.pendingCR) {
      this.pendingCR = false;
      this.endLine(true);
      return this.problem === null ? [CRLF] : [];
    }
    if (this.lineLen > 0 && this.lineIsDot && this.prevEndBare) {
      // an unterminated "." after a bare line end: smtp-server always leaves a final CRLF, but be strict
      this.flag('smuggling');
    }
    return [];
  }

  private addContent(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const before = this.lineLen;
    this.lineLen += to - from;
    this.lineIsDot = before === 0 && to - from === 1 && chunk[from] === DOT;
    if (this.lineLen > this.maxContent) this.flag('line-too-long');
  }

  private endLine(bare: boolean): void {
    if (bare) this.bareLineEnds++;
    if (this.lineIsDot && (bare || this.prevEndBare)) this.flag('smuggling');
    this.prevEndBare = bare;
    this.lineLen = 0;
    this.lineIsDot = false;
  }

  private flag(p: DataProblem): void {
    // smuggling outranks a long line: it is the reply the sender must see
    if (this.problem === null || (p === 'smuggling' && this.problem !== 'smuggling')) this.problem = p;
  }
}
