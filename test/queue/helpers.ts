// Shared helpers for queue tests: temp dirs, a settable clock, and a message factory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewMessage } from '../../src/queue/types.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'mailflow-queue-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function fakeClock(start = Date.UTC(2025, 0, 6, 9, 0, 0)): { now: () => number; set(t: number): void; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    set: (v) => {
      t = v;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export function message(n: number, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    messageId: `m${n}@contoso.com`,
    sender: 'alice@contoso.com',
    recipients: [`bob${n}@fabrikam.com`],
    body: Buffer.from(`Subject: test ${n}\r\nMessage-ID: <m${n}@contoso.com>\r\n\r\nbody ${n}\r\n`),
    meta: { clientIp: '127.0.0.1', n },
    ...overrides,
  };
}
