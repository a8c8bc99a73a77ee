// Structured clone (worker_threads messages) turns a Buffer into a plain Uint8Array: view it as a
// Buffer again, without copying.
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
