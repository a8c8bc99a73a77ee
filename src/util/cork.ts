// Coalescing several socket writes into one write(2) (one TLS record): cork, write, release.
import type { Writable } from 'node:stream';

/** Corks `stream` and returns its release, which uncorks it once however often it is called. */
export function corkUntilReleased(stream: Writable): () => void {
  stream.cork();
  let corked = true;
  return () => {
    if (!corked) return;
    corked = false;
    stream.uncork();
  };
}
