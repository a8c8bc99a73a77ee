// Receiving one message body: smtp-server's data stream → DataNormalizer → a bounded buffer.
// The size limit is enforced while streaming: past `maxMessageSize` octets, or once the normaliser
// flags a problem, the buffer is dropped and the rest of the message is only counted and discarded,
// so an oversized or rejected message never sits in memory. The client is always drained to the
// terminator before we reply, which keeps the session usable for its next message.

import type { Readable } from 'node:stream';
import { DataNormalizer } from './data-normalize.js';
import type { DataOutcome } from './limits.js';

export interface DataLimits {
  maxMessageSize: number;
  maxLineLength: number;
}

/**
 * Reads the stream's chunks straight into the normaliser: no Transform, Writable or stream.pipeline
 * per message (pipeline's AbortController alone built an AbortError with a stack trace for every
 * message, measured in the bench profile).
 */
export function receiveData(stream: Readable, limits: DataLimits): Promise<DataOutcome> {
  const norm = new DataNormalizer({ maxLineLength: limits.maxLineLength });
  let parts: Buffer[] | null = [];
  let size = 0;
  const keep = (pieces: Buffer[]) => {
    if (parts && (norm.bytesIn > limits.maxMessageSize || norm.problem)) parts = null;
    if (!parts) return;
    for (const p of pieces) {
      parts.push(p);
      size += p.length;
    }
  };
  return new Promise((resolve, reject) => {
    let ended = false;
    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer) => keep(norm.feed(chunk));
    const onEnd = () => {
      ended = true;
      cleanup();
      keep(norm.finish());
      const over = norm.bytesIn > limits.maxMessageSize;
      resolve({
        bytes: norm.bytesIn,
        problem: norm.problem,
        message: parts && !over && !norm.problem ? Buffer.concat(parts, size) : null,
      });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // the client went away mid-message: the stream closes without its end
    const onClose = () => {
      if (ended) return;
      cleanup();
      reject(new Error('data stream closed before the end of the message'));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}
