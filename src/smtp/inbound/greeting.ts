// When the 220 greeting goes out. smtp-server's SMTPConnection.init() always waits a hard-coded
// 100 ms before greeting (an early-talker check with no option to turn it off); with a new connection
// per message that alone caps a relay at sessions / 0.1 s (performance-notes.md, item 1). We replace
// init() (see connection.ts) and let each listener choose: 0 greets at once, N waits N ms. Anything the
// client sends before the greeting is still refused by smtp-server ("421 ... You talk too soon"),
// because the connection is not marked ready until the greeting is sent.

export type SetTimer = (fn: () => void, ms: number) => { unref?: () => unknown };

/** Runs `ready` after `delayMs`, synchronously when the delay is 0 (no timer, no event-loop turn). */
export function scheduleGreeting(delayMs: number, ready: () => void, setTimer: SetTimer = setTimeout): void {
  if (!(delayMs > 0)) {
    ready();
    return;
  }
  // unref: a pending greeting must not keep the process alive on shutdown
  setTimer(ready, delayMs).unref?.();
}
