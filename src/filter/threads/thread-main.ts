// The body of a filter thread: SPF/DKIM/DMARC/ARC, the scanners and the verdict for one message at a
// time per request, off the role's event loop (see pool.ts). Its own resolver and answer cache.
import { parentPort, workerData } from 'node:worker_threads';
import { createResolver } from '../../dns/client.js';
import { authenticateMessage } from '../authenticate.js';
import { filterInbound } from '../pipeline.js';
import { scannersFor } from '../scanners/run.js';
import type { Scanner } from '../scanners/types.js';
import { asBuffer, type Request, type Response, type ThreadDns } from './protocol.js';

const dns = workerData as ThreadDns;
const resolver = createResolver({ servers: dns.servers, timeoutMs: dns.timeoutMs, cacheMs: dns.cacheMs });
/** Scanner clients by the settings that make them (a role's settings do not change while it runs). */
const scanners = new Map<string, Scanner[]>();

function scannersOf(settings: Parameters<typeof scannersFor>[0]): Scanner[] {
  const key = JSON.stringify([settings.dnsbl, settings.rspamd, settings.clamd]);
  let s = scanners.get(key);
  if (!s) scanners.set(key, (s = scannersFor(settings, resolver)));
  return s;
}

async function handle(req: Request): Promise<Response> {
  try {
    if (req.op === 'filter') {
      const input = { ...req.input, message: asBuffer(req.input.message), resolver, scanners: scannersOf(req.input.settings) };
      return { id: req.id, ok: true, op: 'filter', result: await filterInbound(input) };
    }
    const input = { ...req.input, message: asBuffer(req.input.message), resolver };
    return { id: req.id, ok: true, op: 'auth', result: await authenticateMessage(input) };
  } catch (err) {
    return { id: req.id, ok: false, error: (err as Error)?.stack ?? String(err) };
  }
}

parentPort!.on('message', (req: Request) => {
  void handle(req).then((res) => parentPort!.postMessage(res));
});
