// Receiving one message body: smtp-server's data stream → DataNormalizer → a bounded buffer.
// The size limit is enforced while streaming: past `maxMessageSize` octets, or once the normaliser
// flags a problem, the buffer is dropped and the rest of the message is only counted and discarded,
// so an oversized or rejected message never sits in memory. The client is always drained to the
// terminator before we reply, which keeps the session usable for its next message.

import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataNormalizer } from './data-normalize.js';
import type { DataOutcome } from './limits.js';

export interface DataLimits {
  maxMessageSize: number;
  maxLineLength: number;
}

export async function receiveData(stream: Readable, limits: DataLimits): Promise<DataOutcome> {
  const norm = new DataNormalizer({ maxLineLength: limits.maxLineLength });
  let parts: Buffer[] | null = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (parts && (norm.bytesIn > limits.maxMessageSize || norm.problem)) parts = null;
      if (parts) parts.push(chunk);
      done();
    },
  });
  await pipeline(stream, norm, sink);
  const over = norm.bytesIn > limits.maxMessageSize;
  return {
    bytes: norm.bytesIn,
    problem: norm.problem,
    message: parts && !over && !norm.problem ? Buffer.concat(parts) : null,
  };
}
