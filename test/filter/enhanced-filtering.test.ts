// Enhanced Filtering for Connectors: which hop of the Received chain is the real sender.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enhancedFilteringHeader, parseHop, recoverOriginalSender, type EnhancedFilteringSettings } from '../../src/filter/enhanced-filtering.js';
import { receivedHeader } from '../../src/smtp/inbound/received-header.js';

const DATE = new Date(Date.UTC(2025, 0, 6, 10, 0, 0));
/** A Received value exactly as our listener writes it. */
function rcvd(helo: string, ip: string, by: string, rdns: string | null = null): string {
  const field = receivedHeader({ helo, rdns, ip, hostname: by, role: 'x', protocol: 'ESMTPS', id: 'Q1', recipients: ['bob@contoso.test'], date: DATE });
  return field.replace(/^Received:\s*/, '').replace(/\r\n[ \t]+/g, ' ').trim();
}

const SENDER = '203.0.113.7';
const GW = '198.51.100.20';
const GW2 = '198.51.100.30';
const HUB = 'hub.contoso.test';

const settings = (s: Partial<EnhancedFilteringSettings>): EnhancedFilteringSettings => ({ mode: 'off', skipIps: [], users: [], ...s });

// internet sender → gateway → hub: the hub's own field on top, then the gateway's.
const twoHops = [rcvd('gateway.contoso.test', GW, HUB), rcvd('mx.fabrikam.test', SENDER, 'gateway.contoso.test')];
const input = (s: Partial<EnhancedFilteringSettings>, received = twoHops, recipients = ['bob@contoso.test']) => ({
  received,
  connectingIp: GW,
  connectingHelo: 'gateway.contoso.test',
  settings: settings(s),
  recipients,
  ownHostnames: [HUB],
});

describe('parseHop', () => {
  test('reads the client address from the TCP-info, never from the HELO', () => {
    assert.deepEqual(parseHop(rcvd('[10.9.9.9]', SENDER, 'gw.example')), { ip: SENDER, helo: '[10.9.9.9]', by: 'gw.example' });
    assert.deepEqual(parseHop(rcvd('mx.example', SENDER, 'gw.example', 'mx.example')), { ip: SENDER, helo: 'mx.example', by: 'gw.example' });
    assert.equal(parseHop('from mx.example (mx.example [IPv6:2001:db8::25]) by gw.example with ESMTP; Mon, 6 Jan 2025 10:00:00 +0000').ip, '2001:db8::25');
    assert.equal(parseHop('from localhost by gw.example with ESMTP; Mon, 6 Jan 2025 10:00:00 +0000').ip, null);
  });
});

describe('recoverOriginalSender', () => {
  test('off: the sender is the connecting host (the gateway), and the reason says so', () => {
    const r = recoverOriginalSender(input({ mode: 'off' }));
    assert.equal(r.applied, false);
    assert.equal(r.originalIp, GW);
    assert.equal(r.originalHelo, 'gateway.contoso.test');
    assert.match(r.reason, /off/);
    assert.equal(enhancedFilteringHeader(r), '');
  });

  test('skip-last with one hop before the gateway: the sender recorded by the gateway', () => {
    const r = recoverOriginalSender(input({ mode: 'skip-last' }));
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, SENDER);
    assert.equal(r.originalHelo, 'mx.fabrikam.test');
    assert.deepEqual(r.skipped, [`${GW} (last hop)`]);
    assert.match(enhancedFilteringHeader(r), new RegExp(`ip=${SENDER}; skipped=${GW}`));
  });

  test('skip-last works when our own Received field is not on the message yet', () => {
    const r = recoverOriginalSender(input({ mode: 'skip-last' }, twoHops.slice(1)));
    assert.equal(r.originalIp, SENDER);
  });

  test('skip-ips with two gateways, both listed (one by CIDR): the sender before them', () => {
    const chain = [rcvd('gw2.contoso.test', GW2, HUB), rcvd('gw1.contoso.test', GW, 'gw2.contoso.test'), rcvd('mx.fabrikam.test', SENDER, 'gw1.contoso.test')];
    const r = recoverOriginalSender({ ...input({ mode: 'skip-ips', skipIps: ['198.51.100.16/28', GW2] }, chain), connectingIp: GW2, connectingHelo: 'gw2.contoso.test' });
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, SENDER);
    assert.deepEqual(r.skipped, [`${GW2} (skip-listed)`, `${GW} (skip-listed)`]);
  });

  test('skip-ips missing an intermediate hop: the unlisted gateway is taken for the sender (why EXO says list every hop)', () => {
    const chain = [rcvd('gw2.contoso.test', GW2, HUB), rcvd('gw1.contoso.test', GW, 'gw2.contoso.test'), rcvd('mx.fabrikam.test', SENDER, 'gw1.contoso.test')];
    const r = recoverOriginalSender({ ...input({ mode: 'skip-ips', skipIps: [GW2] }, chain), connectingIp: GW2, connectingHelo: 'gw2.contoso.test' });
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, GW);
    assert.equal(r.originalHelo, 'gw1.contoso.test');
  });

  test('skip-ips when the connecting host is not listed: not applied, the connecting host is the sender', () => {
    const r = recoverOriginalSender(input({ mode: 'skip-ips', skipIps: ['192.0.2.99'] }));
    assert.equal(r.applied, false);
    assert.equal(r.originalIp, GW);
    assert.match(r.reason, /not in the Enhanced Filtering skip list/);
  });

  test('IPv6 hops and IPv6 ranges', () => {
    const chain = [
      rcvd('gw.contoso.test', '2001:db8:100::20', HUB),
      rcvd('mx.fabrikam.test', '2001:db8:feed::7', 'gw.contoso.test'),
    ];
    const r = recoverOriginalSender({ ...input({ mode: 'skip-ips', skipIps: ['2001:db8:100::/48'] }, chain), connectingIp: '2001:db8:100::20' });
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, '2001:db8:feed::7');
  });

  test('IPv4-mapped connecting addresses compare as IPv4', () => {
    const r = recoverOriginalSender({ ...input({ mode: 'skip-ips', skipIps: [GW] }), connectingIp: `::ffff:${GW}` });
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, SENDER);
  });

  test('users scope: applied only when every recipient is listed', () => {
    const all = recoverOriginalSender(input({ mode: 'skip-last', users: ['bob@contoso.test', 'carol@contoso.test'] }, twoHops, ['Bob@contoso.test', 'carol@contoso.test']));
    assert.equal(all.applied, true);
    const some = recoverOriginalSender(input({ mode: 'skip-last', users: ['bob@contoso.test'] }, twoHops, ['bob@contoso.test', 'dave@contoso.test']));
    assert.equal(some.applied, false);
    assert.equal(some.originalIp, GW);
    assert.match(some.reason, /dave@contoso\.test is not/);
  });

  test('RFC 1918 skip-list entries are ignored; private hops are skipped on the way', () => {
    // gateway relays through an internal hop 10.0.0.5 before reaching the hub
    const chain = [rcvd('relay.internal', '10.0.0.5', HUB), rcvd('gw.contoso.test', GW, 'relay.internal'), rcvd('mx.fabrikam.test', SENDER, 'gw.contoso.test')];
    const r = recoverOriginalSender({ ...input({ mode: 'skip-ips', skipIps: ['10.0.0.0/8', GW] }, chain), connectingIp: '10.0.0.5', connectingHelo: 'relay.internal' });
    assert.deepEqual(r.ignoredEntries, ['10.0.0.0/8']);
    assert.equal(r.applied, true);
    assert.equal(r.originalIp, SENDER);
    assert.deepEqual(r.skipped, ['10.0.0.5 (private address)', `${GW} (skip-listed)`]);
    // an entry list of private ranges only: nothing to skip, the gateway's public IP is the sender
    const only = recoverOriginalSender(input({ mode: 'skip-ips', skipIps: ['192.168.0.0/16'] }));
    assert.equal(only.applied, false);
    assert.deepEqual(only.ignoredEntries, ['192.168.0.0/16']);
  });

  test('a chain that runs out (every hop skipped, or no readable address) is not applied', () => {
    const r = recoverOriginalSender(input({ mode: 'skip-ips', skipIps: [GW, SENDER] }));
    assert.equal(r.applied, false);
    assert.match(r.reason, /every hop/);
    const unreadable = recoverOriginalSender(input({ mode: 'skip-last' }, [twoHops[0]!, 'from somewhere by gateway.contoso.test; Mon, 6 Jan 2025 10:00:00 +0000']));
    assert.equal(unreadable.applied, false);
    assert.match(unreadable.reason, /no readable client address/);
  });

  test('a forged Received below the gateway does not matter with skip-last: only the gateway\'s own field is read', () => {
    const forged = [...twoHops, rcvd('trusted.fabrikam.test', '192.0.2.10', 'mx.fabrikam.test')];
    const r = recoverOriginalSender(input({ mode: 'skip-last' }, forged));
    assert.equal(r.originalIp, SENDER);
  });
});
