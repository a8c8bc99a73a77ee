// Bytes we put on the wire. nodemailer's data stream turns bare LF into CRLF and dot-stuffs, but lets a
// bare CR through; a next hop that treats CR as a line end would then see different lines than we do
// (the SMTP-smuggling class). So every bare CR and bare LF becomes CRLF before nodemailer sees the body.

const CR = 0x0d;
const LF = 0x0a;

/** Replace every bare CR and bare LF with CRLF. Returns the input itself when it is already clean. */
export function normalizeLineEndings(body: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (b === CR && body[i + 1] !== LF) extra++;
    else if (b === LF && (i === 0 || body[i - 1] !== CR)) extra++;
  }
  if (extra === 0) return body;
  const out = Buffer.allocUnsafe(body.length + extra);
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === CR && body[i + 1] !== LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else if (b === LF && (i === 0 || body[i - 1] !== CR)) {
      out[o++] = CR;
      out[o++] = LF;
    } else {
      out[o++] = b;
    }
  }
  return out;
}

/** True when the body has bytes above 0x7f (then BODY=8BITMIME is declared when the server offers it). */
export function has8bit(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) if (body[i]! > 0x7f) return true;
  return false;
}
