// `mailflow demo`: the seed topologies on loopback, for real. Starts a DNS server for the demo zones,
// the internet stand-in and every role, sends one real message along each path of the seeds, and
// reads each message's hops back from the roles' trace stores.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, type LoadedConfig } from '../config/load.js';
import { parseEndpoint } from '../config/schema.js';
import { presetText } from '../config/presets.js';
import { createResolver } from '../dns/client.js';
import { demoZoneRecords } from '../dns/demo-zone.js';
import { startDnsServer } from '../dns/server.js';
import { roleDataDir, roleNames } from '../roles/names.js';
import { startRole, type RunningRole } from '../roles/role.js';
import { createSmtpSender } from '../smtp/outbound/client.js';
import { resolveNextHops } from '../smtp/outbound/mx.js';
import { formatReply } from '../smtp/replies.js';
import { ensureCertificates } from '../tls/certs.js';
import { openTraceStore } from '../trace/sqlite-trace.js';
import { mergeSorted } from '../trace/merge.js';
import type { TraceEvent } from '../trace/types.js';
import { startInternet } from './internet.js';
import { DEMO_PATHS, EICAR_B64, type DemoPath } from './paths.js';
import { SCENARIO2_DEMO } from './scenario2.js';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { withKeys } from '../roles/keys.js';
import { openQuarantine } from '../quarantine/store.js';
import { quarantineDirFor, releaseMessage } from '../quarantine/release.js';
import { releaseTarget } from '../roles/release-target.js';

export interface DemoHop {
  at: string;
  role: string;
  event: string;
  detail: string;
}

export interface PathResult {
  name: string;
  from: string;
  to: string;
  why: string;
  expected: string;
  delivered: boolean;
  ok: boolean;
  outcome: string;
  messageId: string;
  hops: DemoHop[];
}

export interface DemoResult {
  ok: boolean;
  workDir: string;
  paths: PathResult[];
}

const WAIT_MS = 20_000;
const CLIENT_ADDRESS = '127.0.0.1';

export async function runDemo(opts: { dir?: string; keep?: boolean; progress?: (line: string) => void } = {}): Promise<DemoResult> {
  const say = opts.progress ?? (() => {});
  const workDir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mailflow-demo-'));
  mkdirSync(workDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  // clamd, when installed, with a database holding only the EICAR test signature (no downloads here).
  const clamd = await startDemoClamd(workDir);
  if (clamd) stops.push(clamd.stop);
  say(clamd ? `clamd     ${clamd.endpoint}  (EICAR-only database)` : 'clamd     not installed: the malware path is skipped (scripts/scanners.sh install)');
  // As `mailflow init -o` does: a local CA, role certificates and DKIM keys, their paths in the files.
  const hybridDoc = parseDocument(presetText('demo'));
  if (clamd) hybridDoc.setIn(['gateway', 'filter', 'clamd'], hybridDoc.createNode({ endpoint: clamd.endpoint }));
  // The gateway ARC-seals what it stamps; the hub trusts that sealer (EXO: Set-ArcConfig -ArcTrustedSealers).
  hybridDoc.setIn(['gateway', 'filter', 'arcSeal'], hybridDoc.createNode({ domain: 'gateway.demo.test', selector: 'arc1', privateKey: 'keys/arc-gateway.demo.test.pem' }));
  hybridDoc.setIn(['hub', 'filter', 'trustedArcSealers'], hybridDoc.createNode(['gateway.demo.test']));
  writeFileSync(join(workDir, 'mailflow.yaml'), await withKeys(hybridDoc.toString({ lineWidth: 0 }), join(workDir, 'mailflow.yaml')));
  // Scenario 2 in a folder of its own: its keys/ must not replace the hybrid roles' certificates.
  mkdirSync(join(workDir, 'scenario2'), { recursive: true });
  const s2File = join(workDir, 'scenario2', 'mailflow.yaml');
  writeFileSync(s2File, await withKeys(SCENARIO2_DEMO, s2File));
  const topologies = { hybrid: loadConfigFile(join(workDir, 'mailflow.yaml')), scenario2: loadConfigFile(s2File) };
  const demo = topologies.hybrid.config.demo!;
  try {
    const dnsAt = parseEndpoint(demo.dns, 53)!;
    const seen = new Set<string>();
    const records = [...demoZoneRecords(topologies.hybrid.config, { baseDir: workDir }), ...demoZoneRecords(topologies.scenario2.config, { baseDir: topologies.scenario2.baseDir })].filter((r) => {
      const k = JSON.stringify(r);
      return seen.has(k) ? false : (seen.add(k), true);
    });
    // fabrikam.test publishes DMARC p=reject, so a forger of its addresses is refused.
    records.push({ name: '_dmarc.fabrikam.test', type: 'TXT', value: 'v=DMARC1; p=reject' });
    const dns = await startDnsServer({ host: dnsAt.host, port: dnsAt.port, records });
    stops.push(() => dns.close());
    say(`dns       ${dns.address}  (${records.length} records for the demo zones)`);

    const inet = parseEndpoint(demo.internet.listen)!;
    const inetCerts = await ensureCertificates(join(workDir, 'demo-data', 'certs'), [{ name: 'internet', subject: demo.internet.hostname, ips: [inet.host] }]);
    const internet = await startInternet({
      host: inet.host,
      port: inet.port,
      hostname: demo.internet.hostname,
      domains: demo.externalDomains,
      dataDir: join(workDir, 'internet'),
      tls: { key: readFileSync(inetCerts.certs.internet!.key, 'utf8'), cert: readFileSync(inetCerts.certs.internet!.cert, 'utf8') },
      resolver: createResolver({ servers: [demo.dns], timeoutMs: 2000 }),
    });
    stops.push(() => internet.stop());
    say(`internet  ${inet.host}:${inet.port}  (stand-in MX for ${demo.externalDomains.join(', ')})`);

    const roles: Record<string, RunningRole[]> = { hybrid: [], scenario2: [] };
    for (const [name, loaded] of Object.entries(topologies)) {
      for (const role of roleNames(loaded.config)) {
        const r = await startRole(loaded, role, { maxIdleMs: 100, deliver: false });
        roles[name]!.push(r);
        stops.push(() => r.stop(2000));
        say(`${role.padEnd(9)} ${r.address.host}:${r.address.port}  (${name === 'hybrid' ? 'seed 000 hybrid' : 'seed 003 scenario 2'})`);
      }
    }

    for (const r of Object.values(roles).flat()) r.startDelivery();
    const resolver = createResolver({ servers: [demo.dns], timeoutMs: 2000 });
    const client = createSmtpSender({});
    stops.push(() => client.close());
    const sent: Sent[] = [];
    for (const [i, path] of DEMO_PATHS.entries()) {
      const loaded = topologies[path.topology];
      const messageId = `demo-${i + 1}-${Date.now().toString(36)}@demo.test`;
      const startedAt = Date.now();
      if (path.needsClamd && !clamd) {
        sent.push({ path, messageId, startedAt, endedAt: startedAt, skipped: 'clamd is not installed' });
        continue;
      }
      const target = await entryTarget(loaded, path, resolver);
      const body = demoMessage(path, messageId);
      const res = await client.send({
        target: { host: target.host, port: target.port, tls: 'opportunistic', localAddress: path.local ?? target.local },
        hostname: path.entry.kind === 'submit' ? 'client.demo.test' : demo.internet.hostname,
        sender: path.from,
        recipients: [path.to],
        body,
      });
      const o = res.outcomes[0]!;
      sent.push({ path, messageId, startedAt, endedAt: Date.now(), rejected: o.kind === 'delivered' ? undefined : formatReply(o.reply) });
    }

    const traceDirs = (Object.values(topologies) as LoadedConfig[]).flatMap((l) => roleNames(l.config).map((r) => roleDataDir(l.config, l.baseDir, r)));
    traceDirs.push(internet.dataDir);
    const results: PathResult[] = [];
    for (const s of sent) {
      if (s.path.expect.kind === 'released') await releaseHeld(topologies[s.path.topology], s);
      results.push(await settlePath(s, traceDirs));
    }
    await Promise.all(Object.values(roles).flat().map((r) => r.worker?.idle()));
    return { ok: results.every((r) => r.ok), workDir, paths: results };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    if (!opts.keep && !opts.dir) rmSync(workDir, { recursive: true, force: true });
  }
}

async function entryTarget(loaded: LoadedConfig, path: DemoPath, resolver: ReturnType<typeof createResolver>): Promise<{ host: string; port: number; local: string }> {
  const internetHost = parseEndpoint(loaded.config.demo!.internet.listen)!.host;
  if (path.entry.kind === 'mx') {
    const hops = await resolveNextHops(resolver, path.to.split('@')[1]!, loaded.config.smtpPort);
    if (!Array.isArray(hops)) throw new Error(`demo DNS has no MX for ${path.to}: ${hops.message}`);
    return { host: hops[0]!.host, port: hops[0]!.port, local: internetHost };
  }
  const role = path.entry.role;
  const section = role === 'hub' ? loaded.config.hub : role === 'gateway' ? loaded.config.gateway : loaded.config.onprem.find((o) => o.name === role)!;
  const ep = parseEndpoint(section.listen)!;
  return { host: ep.host, port: ep.port, local: path.entry.kind === 'submit' ? CLIENT_ADDRESS : internetHost };
}

function readTrace(dirs: string[], filter: (e: TraceEvent) => boolean, messageId: string, recipient: string, window: [number, number]): TraceEvent[] {
  const lists: TraceEvent[][] = [];
  for (const dir of dirs) {
    let store;
    try {
      store = openTraceStore({ file: join(dir, 'trace.db') });
    } catch {
      continue;
    }
    try {
      // Refusals at RCPT time have no message id yet: match them by recipient within this send's window.
      const byRecipient = store.query({ recipient }).filter((e) => !e.messageId && e.at >= window[0] && e.at <= window[1]);
      lists.push(mergeSorted([store.query({ messageId }).filter(filter), byRecipient]));
    } finally {
      store.close();
    }
  }
  return mergeSorted(lists);
}

interface Sent {
  path: DemoPath;
  messageId: string;
  rejected?: string;
  startedAt: number;
  endedAt: number;
  skipped?: string;
  released?: string;
}

async function settlePath(s: Sent, dirs: string[]): Promise<PathResult> {
  const { path, messageId } = s;
  if (s.skipped) {
    return { name: path.name, from: path.from, to: path.to, why: path.why, expected: 'skipped', delivered: false, ok: true, outcome: `skipped: ${s.skipped}`, messageId, hops: [] };
  }
  const since = (e: TraceEvent) => e.at >= s.startedAt - 1000;
  const done = (events: TraceEvent[]) => {
    const e = path.expect;
    if (s.rejected) return true;
    if (e.kind === 'mailbox' || e.kind === 'released') return events.some((x) => x.type === 'DELIVER' && x.recipient === e.address);
    if (e.kind === 'internet') return events.some((x) => x.type === 'DELIVER' && x.role === 'internet');
    return events.some((x) => x.type === 'FAIL' || x.type === 'REJECT');
  };
  // The next hop can record its receipt before the sending role has heard the 250 and recorded its
  // SEND: wait until every role that received the message has also recorded what it did with it.
  const settled = (events: TraceEvent[]) =>
    !!s.rejected || events.filter((x) => x.type === 'RECEIVE').every((r) => events.some((x) => x.role === r.role && x.type !== 'RECEIVE' && x.type !== 'EXPAND' && x.at >= r.at));
  let events = readTrace(dirs, since, messageId, path.to, [s.startedAt, s.endedAt]);
  const until = Date.now() + WAIT_MS;
  while (!(done(events) && settled(events)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    events = readTrace(dirs, since, messageId, path.to, [s.startedAt, s.endedAt]);
  }
  const e = path.expect;
  const delivered = events.some((x) => x.type === 'DELIVER');
  // Quarantine entries carry no message id yet: show the hold by recipient within this send.
  let ok: boolean;
  let outcome: string;
  if (e.kind === 'rejected') {
    ok = !!s.rejected && s.rejected.includes(` ${e.code} `) && !delivered;
    outcome = s.rejected ? `rejected: ${s.rejected}` : 'accepted (expected a rejection)';
  } else if (e.kind === 'mailbox') {
    const inFolder = (x: TraceEvent) => !e.folder || (x.reason ?? '').includes(`.${e.folder}/`);
    ok = events.some((x) => x.type === 'DELIVER' && x.role === e.role && x.recipient === e.address && inFolder(x));
    outcome = ok ? `delivered to ${e.address} (${e.role === 'hub' ? 'cloud' : e.role} mailbox${e.folder ? `, ${e.folder} folder` : ''})` : s.rejected ? `rejected: ${s.rejected}` : 'not delivered as expected in time';
  } else if (e.kind === 'released') {
    const held = events.some((x) => x.type === 'QUARANTINE' && x.role === e.role);
    const landed = events.some((x) => x.type === 'DELIVER' && x.role === e.mailboxRole && x.recipient === e.address);
    ok = held && landed && !!s.released;
    outcome = ok ? `held in ${e.role} quarantine, released (${s.released}), delivered to ${e.address}` : held ? `held, but the release did not deliver (${s.released ?? 'no release'})` : s.rejected ? `rejected: ${s.rejected}` : 'not quarantined';
  } else {
    ok = events.some((x) => x.type === 'DELIVER' && x.role === 'internet' && x.recipient === e.address);
    outcome = ok ? `delivered to ${e.address} at the recipient's MX` : s.rejected ? `rejected: ${s.rejected}` : 'not delivered in time';
  }
  return {
    name: path.name,
    from: path.from,
    to: path.to,
    why: path.why,
    expected:
      e.kind === 'rejected'
        ? `rejected with ${e.code}`
        : e.kind === 'mailbox'
          ? `${e.address} in the ${e.role} mailbox${e.folder ? ` (${e.folder})` : ''}`
          : e.kind === 'released'
            ? `held at the ${e.role}, then delivered after release`
            : `${e.address} at the internet stand-in`,
    delivered,
    ok,
    outcome,
    messageId,
    hops: events.map(toHop),
  };
}

function toHop(e: TraceEvent): DemoHop {
  const parts: string[] = [];
  if (e.type === 'RECEIVE') parts.push(`from ${e.host ?? '?'}`);
  if (e.type === 'SEND') parts.push(`to ${e.host ?? '?'}`);
  if (e.connector) parts.push(`connector "${e.connector}"`);
  if (e.reply && e.type !== 'RECEIVE') parts.push(e.reply);
  if (e.reason && e.type !== 'SEND') parts.push(e.reason);
  return { at: new Date(e.at).toISOString(), role: e.role, event: e.type, detail: parts.join('; ') };
}

export function formatDemo(r: DemoResult): string {
  const lines: string[] = [];
  for (const p of r.paths) {
    lines.push(`${p.ok ? 'ok  ' : 'FAIL'} ${p.name}: ${p.from} → ${p.to}`);
    lines.push(`     ${p.outcome}   (expected: ${p.expected}; ${p.why})`);
    for (const h of p.hops) lines.push(`       ${h.role.padEnd(8)} ${h.event.padEnd(8)} ${h.detail}`);
  }
  const good = r.paths.filter((p) => p.ok).length;
  lines.push('', `${good}/${r.paths.length} paths went where the seeds say${r.ok ? '' : ' — SOME DID NOT'}.`);
  return lines.join('\n');
}

/** The demo message for a path: plain text, or with an EICAR attachment; header overrides applied. */
function demoMessage(path: DemoPath, messageId: string): Buffer {
  const headers: Record<string, string | null> = {
    From: `<${path.from}>`,
    To: `<${path.to}>`,
    Subject: `mailflow demo: ${path.name}`,
    Date: new Date().toUTCString(),
    'Message-ID': `<${messageId}>`,
    'MIME-Version': '1.0',
    ...path.headers,
  };
  let body = `This message travels the path "${path.name}".\r\n${path.why}\r\n`;
  if (path.body === 'EICAR') {
    headers['Content-Type'] = 'multipart/mixed; boundary="demo-boundary"';
    body = ['--demo-boundary', 'Content-Type: text/plain', '', 'The attachment is the EICAR anti-virus test file.', '--demo-boundary', 'Content-Type: application/octet-stream; name="eicar.com"', 'Content-Transfer-Encoding: base64', '', EICAR_B64, '--demo-boundary--', ''].join('\r\n');
  } else headers['Content-Type'] ??= 'text/plain; charset=utf-8';
  const head = Object.entries(headers)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}`);
}

/** The operator's release, as `mailflow quarantine release` does it: re-inject into the holding role. */
async function releaseHeld(loaded: LoadedConfig, s: Sent): Promise<void> {
  const e = s.path.expect;
  if (e.kind !== 'released' || s.rejected) return;
  const until = Date.now() + WAIT_MS;
  const store = openQuarantine({ dir: quarantineDirFor(loaded.config, loaded.baseDir, e.role) });
  try {
    let entry = store.list({ status: 'held' }).find((x) => x.recipients.includes(s.path.to) && x.at >= s.startedAt - 1000);
    while (!entry && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      entry = store.list({ status: 'held' }).find((x) => x.recipients.includes(s.path.to) && x.at >= s.startedAt - 1000);
    }
    if (!entry) return;
    const { target, hostname } = await releaseTarget(loaded, e.role);
    // A sender of its own, as the CLI has: the release connection presents the role's certificate.
    const releaser = createSmtpSender({});
    const r = await releaseMessage({ store, id: entry.id, sender: releaser, target, hostname }).finally(() => releaser.close());
    s.released = r.kind === 'released' ? entry.id : undefined;
    s.endedAt = Date.now();
  } finally {
    store.close();
  }
}

/** clamd on a free loopback port via scripts/scanners.sh, when clamd and the script are both here. */
async function startDemoClamd(workDir: string): Promise<{ endpoint: string; stop: () => Promise<void> } | undefined> {
  const script = fileURLToPath(new URL('../../../scripts/scanners.sh', import.meta.url));
  if (!existsSync(script) || !['/usr/sbin/clamd', '/usr/bin/clamd'].some((p) => existsSync(p))) return undefined;
  const port = await freePort();
  const env = { ...process.env, SCANNERS: 'clamd', SCANNERS_DIR: join(workDir, 'scanners'), CLAMD_PORT: String(port) };
  const r = spawnSync('bash', [script, 'start'], { env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return {
    endpoint: `127.0.0.1:${port}`,
    stop: async () => void spawnSync('bash', [script, 'stop'], { env, timeout: 30_000 }),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
