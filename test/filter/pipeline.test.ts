// filterInbound end to end on one message, DNS from a loopback server: why Enhanced Filtering matters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { Resolver } from '../../src/dns/types.js';
import { authenticateMessage } from '../../src/filter/authenticate.js';
import { headerValues } from '../../src/filter/headers.js';
import { filterInbound } from '../../src/filter/pipeline.js';
import { scannersFor } from '../../src/filter/scanners/run.js';
import { filterSettingsFor } from '../../src/filter/settings.js';
import { receivedHeader } from '../../src/smtp/inbound/received-header.js';

const FORGER = '198.51.100.66';
const GATEWAY = '127.0.0.2';
const arcKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const arcPem = arcKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const arcP = arcKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let dns: DnsServer;
let resolver: Resolver;
before(async () => {
  dns = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    records: [
      // the organisation's SPF lists its gateway (it sends NDRs) and hub, as the seeds do
      { name: 'contoso.test', type: 'TXT', value: `v=spf1 ip4:${GATEWAY} ip4:127.0.0.3 -all` },
      { name: '_dmarc.contoso.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
      { name: 'arc1._domainkey.gateway.contoso.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${arcP}` },
    ],
  });
  resolver = createResolver({ servers: [dns.address], timeoutMs: 1000 });
});
after(() => dns.close());

const { config } = parseConfigText(presetText('demo'));
const hubSettings = { ...filterSettingsFor(config, 'hub'), enabled: true };

/** The CEO's address forged from the internet, as the hub receives it after the gateway relayed it. */
function atHub(): Buffer {
  const date = new Date(Date.UTC(2025, 0, 6, 10, 0, 0));
  const gw = receivedHeader({ helo: 'evil.example', rdns: null, ip: FORGER, hostname: 'gateway.contoso.test', role: 'gateway', protocol: 'ESMTP', id: 'G1', recipients: ['bob@contoso.test'], date });
  const hub = receivedHeader({ helo: 'gateway.contoso.test', rdns: null, ip: GATEWAY, hostname: 'hub.contoso.test', role: 'hub', protocol: 'ESMTPS', id: 'H1', recipients: ['bob@contoso.test'], date });
  return Buffer.from(`${hub}${gw}From: CEO <ceo@contoso.test>\r\nTo: bob@contoso.test\r\nSubject: Urgent wire transfer\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <forged-1@evil.example>\r\n\r\nPay now.\r\n`);
}

const base = () => ({ connectingIp: GATEWAY, helo: 'gateway.contoso.test', sender: 'ceo@contoso.test', recipients: ['bob@contoso.test'], resolver, hostname: 'hub.contoso.test', settings: hubSettings, scanners: scannersFor(hubSettings, resolver) });

describe('filterInbound at the hub', () => {
  test('without Enhanced Filtering the forged CEO mail passes SPF and DMARC: the hub judges the gateway', async () => {
    const r = await filterInbound({ ...base(), message: atHub() });
    assert.equal(r.ef.applied, false);
    assert.equal(r.auth!.spf.result, 'pass');
    assert.equal(r.auth!.spf.ip, GATEWAY);
    assert.equal(r.auth!.dmarc.result, 'pass');
    assert.equal(r.action, 'deliver');
    assert.match(r.summary, /Enhanced Filtering is off/);
  });

  test('with skip-last the hub finds the forger: SPF fail, DMARC p=reject → 550 5.7.509', async () => {
    const r = await filterInbound({ ...base(), message: atHub(), enhancedFiltering: { mode: 'skip-last', skipIps: [], users: [] } });
    assert.equal(r.ef.applied, true);
    assert.equal(r.ef.originalIp, FORGER);
    assert.equal(r.auth!.spf.result, 'fail');
    assert.equal(r.auth!.dmarc.result, 'fail');
    assert.equal(r.action, 'reject');
    assert.deepEqual(r.rejectReply, { code: 550, enhanced: '5.7.509', text: 'Access denied, sending domain contoso.test does not pass DMARC verification and has a DMARC policy of reject' });
    // the stamped message: our Authentication-Results, the verdict, the recovered sender, on top
    const out = r.message.toString();
    assert.match(out, /^X-Mailflow-Original-Sender: ip=198\.51\.100\.66; skipped=127\.0\.0\.2\r\n/);
    assert.match(headerValues(r.message, 'Authentication-Results')[0]!, /^hub\.contoso\.test;.*spf=fail/);
    assert.match(headerValues(r.message, 'X-Mailflow-Spam')[0]!, /action=reject/);
  });

  test('with DMARC enforcement off, the failure is only scored: Junk', async () => {
    const r = await filterInbound({ ...base(), settings: { ...hubSettings, enforceDmarc: false }, message: atHub(), enhancedFiltering: { mode: 'skip-last', skipIps: [], users: [] } });
    assert.equal(r.action, 'junk');
    assert.equal(r.verdict.score, 6, 'SPF_FAIL(3) + DMARC_FAIL(3)');
    assert.equal(r.rejectReply, undefined);
  });

  test('the gateway seals ARC over what it stamped; a hub trusting it verifies the chain', async () => {
    const direct = Buffer.from('From: Alice <alice@fabrikam.test>\r\nTo: bob@contoso.test\r\nSubject: Hi\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <ok-1@fabrikam.test>\r\n\r\nHello.\r\n');
    const gwSettings = { ...filterSettingsFor(config, 'gateway'), enabled: true };
    const atGw = await filterInbound({ ...base(), connectingIp: '203.0.113.9', helo: 'mx.fabrikam.test', sender: 'alice@fabrikam.test', hostname: 'gateway.contoso.test', settings: gwSettings, message: direct, arcSeal: { domain: 'gateway.contoso.test', selector: 'arc1', privateKeyPem: arcPem } });
    assert.equal(atGw.action, 'deliver');
    assert.match(atGw.message.toString(), /^ARC-Seal: i=1;/);
    const hub = await authenticateMessage({ message: atGw.message, ip: GATEWAY, helo: 'gateway.contoso.test', sender: 'alice@fabrikam.test', resolver, authservId: 'hub.contoso.test', trustedArcSealers: ['gateway.contoso.test'] });
    assert.equal(hub.arc.result, 'pass');
    assert.equal(hub.arc.trusted, true);
    assert.equal(hub.arc.upstream?.authservId, 'gateway.contoso.test');
  });
});

test('scannersFor builds the configured scanners in order', () => {
  const names = scannersFor({ dnsbl: [], rspamd: { endpoint: '127.0.0.1:1', timeout: 1000 }, clamd: { endpoint: '127.0.0.1:1', timeout: 1000 } }, createResolver({ servers: ['127.0.0.1:1'] })).map((s) => s.name);
  assert.deepEqual(names, ['builtin', 'rspamd', 'clamd']);
});
