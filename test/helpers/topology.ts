// A whole topology on its own loopback /24 for one test file: the demo preset moved to 127.N.0.x,
// its own DNS server on an ephemeral port, an internet stand-in, every role, all in a temp dir.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, type LoadedConfig } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { createResolver } from '../../src/dns/client.js';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { startDnsServer } from '../../src/dns/server.js';
import { startInternet, type InternetStandIn } from '../../src/demo/internet.js';
import { roleNames } from '../../src/roles/names.js';
import { startRole, type RunningRole } from '../../src/roles/role.js';
import { createSmtpSender } from '../../src/smtp/outbound/client.js';
import type { SendResult } from '../../src/smtp/outbound/types.js';
import { ensureCertificates } from '../../src/tls/certs.js';
import { withKeys } from '../../src/roles/keys.js';
import type { TraceEvent } from '../../src/trace/types.js';

/**
 * A predicate for `waitFor` that holds once every `role:TYPE` step has been recorded. Roles record
 * independently: the next hop can record its DELIVER before the sender has read the 250 and recorded
 * its SEND, so waiting for the last step alone races.
 */
export const reached = (steps: readonly string[]) => (events: TraceEvent[]) => steps.every((s) => events.some((e) => `${e.role}:${e.type}` === s));

export interface Topology {
  dir: string;
  net: string;
  configFile: string;
  loaded: LoadedConfig;
  dns: { address: string; close(): Promise<void>; setRecords(r: unknown[]): void };
  internet: InternetStandIn;
  roles: Map<string, RunningRole>;
  send(opts: { from: string; to: string[]; entry: 'mx' | 'gateway' | 'hub' | 'onprem'; local?: string; subject?: string; body?: string; messageId?: string; raw?: string }): Promise<SendResult>;
  /** Trace events of every role and the internet stand-in, in time order. */
  events(filter: { messageId?: string; recipient?: string }): TraceEvent[];
  /** Poll (bounded) until `pred` holds for the events of a message. */
  waitFor(filter: { messageId?: string; recipient?: string }, pred: (events: TraceEvent[]) => boolean, timeoutMs?: number): Promise<TraceEvent[]>;
  stopRoles(): Promise<void>;
  close(): Promise<void>;
}

/** `net` is a loopback /24 prefix such as '127.31.0' that no other test file uses. */
export async function startTopology(net: string, edit: (yaml: string) => string = (y) => y, opts: { startRoles?: boolean; keys?: boolean } = {}): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-topo-'));
  const dns = await startDnsServer({ host: `${net}.53`, port: 0, records: [] });
  let yaml = presetText('demo').replaceAll('127.0.0.', `${net}.`).replaceAll(`${net}.53:5353`, dns.address).replace('dataDir: ./demo-data', `dataDir: ./data`);
  yaml = edit(yaml);
  const configFile = join(dir, 'mailflow.yaml');
  // keys: what `mailflow init -o` makes (CA, role certificates, the hub's DKIM key), as a user would have.
  if (opts.keys) yaml = await withKeys(yaml, configFile);
  writeFileSync(configFile, yaml);
  const loaded = loadConfigFile(configFile);
  dns.setRecords(demoZoneRecords(loaded.config, { baseDir: loaded.baseDir }));
  const demo = loaded.config.demo!;
  const [ihost, iport] = demo.internet.listen.split(':');
  const certs = await ensureCertificates(join(dir, 'data', 'certs'), [{ name: 'internet', subject: demo.internet.hostname, ips: [ihost!] }]);
  const internet = await startInternet({
    host: ihost!,
    port: Number(iport),
    hostname: demo.internet.hostname,
    domains: demo.externalDomains,
    dataDir: join(dir, 'internet'),
    tls: { key: readFileSync(certs.certs.internet!.key, 'utf8'), cert: readFileSync(certs.certs.internet!.cert, 'utf8') },
    resolver: createResolver({ servers: [dns.address], timeoutMs: 1000 }),
  });
  const roles = new Map<string, RunningRole>();
  if (opts.startRoles !== false) {
    for (const r of roleNames(loaded.config)) roles.set(r, await startRole(loaded, r, { maxIdleMs: 50, deliver: false }));
    for (const r of roles.values()) r.startDelivery();
  }
  const client = createSmtpSender({});
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 1000 });
  const { resolveNextHops } = await import('../../src/smtp/outbound/mx.js');

  const t: Topology = {
    dir,
    net,
    configFile,
    loaded,
    dns,
    internet,
    roles,
    async send(o) {
      let host: string;
      let port = loaded.config.smtpPort;
      if (o.entry === 'mx') {
        const hops = await resolveNextHops(resolver, o.to[0]!.split('@')[1]!, port);
        if (!Array.isArray(hops)) throw new Error(hops.message);
        host = hops[0]!.host;
      } else {
        const section = o.entry === 'hub' ? loaded.config.hub : o.entry === 'gateway' ? loaded.config.gateway : loaded.config.onprem[0]!;
        [host] = section.listen.split(':') as [string];
        port = Number(section.listen.split(':')[1]);
      }
      const id = o.messageId ?? `${Math.random().toString(36).slice(2)}@test.example`;
      const body = o.raw !== undefined ? Buffer.from(o.raw) : Buffer.from(`From: <${o.from}>\r\nTo: ${o.to.map((x) => `<${x}>`).join(', ')}\r\nSubject: ${o.subject ?? 'test'}\r\nMessage-ID: <${id}>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${o.body ?? 'hello'}\r\n`);
      return client.send({ target: { host, port, tls: 'opportunistic', localAddress: o.local ?? (o.entry === 'mx' ? `${net}.5` : `${net}.1`) }, hostname: 'client.test', sender: o.from, recipients: o.to, body });
    },
    events(filter) {
      const { collectTrace } = traceModule!;
      return collectTrace(loaded.config, loaded.baseDir, { ...filter, limit: 1000 }, [{ role: 'internet', dir: join(dir, 'internet') }]);
    },
    async waitFor(filter, pred, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let ev = t.events(filter);
      while (!pred(ev) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        ev = t.events(filter);
      }
      return ev;
    },
    async stopRoles() {
      for (const r of roles.values()) await r.stop(2000);
      roles.clear();
    },
    async close() {
      await t.stopRoles();
      await client.close();
      await internet.stop();
      await dns.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  traceModule = await import('../../src/cli/trace.js');
  return t;
}

let traceModule: typeof import('../../src/cli/trace.js') | undefined;
