// clamd and rspamd for the tests that use them: installed by scripts/scanners.sh when missing and
// apt-get is there, so a fresh machine runs those tests instead of skipping them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { rspamdScanner } from '../../src/filter/scanners/rspamd.js';

export const SCANNERS_SCRIPT = fileURLToPath(new URL('../../../scripts/scanners.sh', import.meta.url));

function binary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0 || existsSync(`/usr/sbin/${name}`) || existsSync(`/usr/bin/${name}`);
}

export type ScannerName = 'clamd' | 'rspamd';

/** Installs the missing daemons of `names`; returns why some are still missing, or null. */
export function ensureScanners(names: readonly ScannerName[] = ['clamd', 'rspamd']): string | null {
  const missing = () => names.filter((b) => !binary(b));
  if (missing().length === 0) return null;
  if (!binary('apt-get')) return `${missing().join(', ')} not installed and apt-get is not available`;
  try {
    execFileSync(SCANNERS_SCRIPT, ['install'], { stdio: 'pipe', timeout: 300_000, env: { ...process.env, SCANNERS: names.join(' ') } });
  } catch (err) {
    return `scanners.sh install failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).slice(-300)}`;
  }
  const still = missing();
  return still.length ? `still missing after install: ${still.join(', ')}` : null;
}

/** A loopback port free right now, for a daemon started on it next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Waits until rspamd on `port` scores a message, not just accepts connections: right after a start
 * (a cold one above all, while it compiles its rules) its port can be open while a check still fails.
 * Resolves with null once a check has an answer, or with the last failure after `timeoutMs`.
 */
export async function rspamdReady(port: number, timeoutMs = 60_000): Promise<string | null> {
  const probe = Buffer.from('From: probe@example.test\r\nSubject: ready?\r\n\r\nready?\r\n');
  const ctx = { ip: '127.0.0.1', helo: 'localhost', sender: 'probe@example.test', recipients: ['probe@example.test'] };
  const rspamd = rspamdScanner({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await rspamd.scan(probe, ctx);
    if (r.status === 'ok') return null;
    if (Date.now() >= deadline) return `rspamd not ready after ${timeoutMs} ms: ${r.detail}`;
    await new Promise((done) => setTimeout(done, 250));
  }
}
