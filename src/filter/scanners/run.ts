// Runs a role's scanners side by side and builds them from its settings. A scanner that throws is
// reported as `error` (a bug or an unexpected answer) rather than failing the message.
import { parseEndpoint } from '../../config/endpoint.js';
import type { FilterSettings } from '../../config/schema.js';
import type { Resolver } from '../../dns/types.js';
import { builtinScanner } from './builtin.js';
import { clamdScanner } from './clamd.js';
import { rspamdScanner } from './rspamd.js';
import type { ScanContext, ScanResult, Scanner } from './types.js';

export function scannersFor(settings: Pick<FilterSettings, 'dnsbl' | 'rspamd' | 'clamd'>, resolver: Resolver): Scanner[] {
  const out: Scanner[] = [builtinScanner({ resolver, dnsbl: settings.dnsbl })];
  if (settings.rspamd) {
    const e = parseEndpoint(settings.rspamd.endpoint, 11333)!;
    out.push(rspamdScanner({ host: e.host, port: e.port, timeoutMs: settings.rspamd.timeout }));
  }
  if (settings.clamd) {
    const e = parseEndpoint(settings.clamd.endpoint, 3310)!;
    out.push(clamdScanner({ host: e.host, port: e.port, timeoutMs: settings.clamd.timeout }));
  }
  return out;
}

export async function runScanners(scanners: Scanner[], message: Buffer, ctx: ScanContext, opts: { maxScanSize?: number } = {}): Promise<ScanResult[]> {
  return Promise.all(
    scanners.map(async (s): Promise<ScanResult> => {
      if (s.name !== 'builtin' && opts.maxScanSize !== undefined && message.length > opts.maxScanSize) {
        return { scanner: s.name, status: 'unavailable', detail: `not scanned: ${message.length} bytes is over maxScanSize ${opts.maxScanSize}` };
      }
      try {
        return await s.scan(message, ctx);
      } catch (err) {
        return { scanner: s.name, status: 'error', detail: `${s.name} failed: ${(err as Error).message}` };
      }
    }),
  );
}
