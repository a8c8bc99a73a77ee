import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { decideAt } from '../../src/routing/decide.js';
import { explainRoute } from '../../src/routing/explain.js';
import { classifyClient, hubIsLocked, selectOutboundConnector } from '../../src/routing/connectors.js';
import { ipInAny, ipInRange } from '../../src/routing/ip.js';

const hybrid = () => parseConfigText(presetText('hybrid')).config;
const archive = () => parseConfigText(presetText('archive')).config;

test('internet mail for a cloud mailbox: MX to the gateway, partner connector to the hub, cloud mailbox', () => {
  const e = explainRoute(hybrid(), { from: 'x@fabrikam.com', to: 'alice@contoso.com' });
  assert.equal(e.outcome, 'delivered');
  assert.deepEqual(e.hops.map((h) => [h.from, h.to]), [['internet', 'gateway'], ['gateway', 'hub'], ['hub', 'mailbox alice@contoso.com (cloud)']]);
  assert.equal(e.hops[1]!.connector, 'inbound: From third-party gateway');
});

test('internet mail for an on-prem mailbox leaves the hub over the on-premises outbound connector', () => {
  const e = explainRoute(hybrid(), { from: 'x@fabrikam.com', to: 'bob@contoso.com' });
  assert.equal(e.outcome, 'delivered');
  assert.deepEqual(e.hops.map((h) => h.to), ['gateway', 'hub', 'onprem', 'mailbox bob@contoso.com (on-prem onprem)']);
  assert.equal(e.hops[2]!.connector, 'outbound: To on-premises');
  assert.equal(e.hops[2]!.rule, 'hub.outboundConnectors[0]');
});

test('on-prem outbound goes through the hub and straight to the internet (scenario 1)', () => {
  const e = explainRoute(hybrid(), { from: 'bob@contoso.com', to: 'x@fabrikam.com' });
  assert.equal(e.origin, 'onprem');
  assert.deepEqual(e.hops.map((h) => h.to), ['hub', 'internet (MX of fabrikam.com)']);
  assert.equal(e.hops[0]!.connector, 'inbound: From on-premises');
});

test('cloud to on-prem and on-prem to cloud stay inside the organisation', () => {
  assert.deepEqual(explainRoute(hybrid(), { from: 'alice@contoso.com', to: 'bob@contoso.com' }).hops.map((h) => h.to), ['onprem', 'mailbox bob@contoso.com (on-prem onprem)']);
  assert.deepEqual(explainRoute(hybrid(), { from: 'bob@contoso.com', to: 'alice@contoso.com' }).hops.map((h) => h.to), ['hub', 'mailbox alice@contoso.com (cloud)']);
});

test('the gateway refuses a recipient its directory does not know, with 550 5.1.10', () => {
  const e = explainRoute(hybrid(), { from: 'x@fabrikam.com', to: 'nobody@contoso.com' });
  assert.equal(e.outcome, 'rejected');
  assert.match(e.hops.at(-1)!.to, /550 5\.1\.10/);
  assert.equal(e.hops.at(-1)!.rule, 'gateway.validateRecipients');
});

test('without gateway validation an internal-relay unknown reaches on-prem, which refuses it (5.1.1)', () => {
  const c = hybrid();
  c.gateway.validateRecipients = false;
  const e = explainRoute(c, { from: 'x@fabrikam.com', to: 'nobody@contoso.com' });
  assert.deepEqual(e.hops.map((h) => h.from), ['internet', 'gateway', 'hub', 'onprem']);
  assert.match(e.hops.at(-1)!.to, /550 5\.1\.1 /);
});

test('an authoritative domain refuses unknown recipients at the hub (5.1.10)', () => {
  const c = parseConfigText(presetText('cloud')).config;
  const d = decideAt(c, 'hub', { sender: 'x@fabrikam.com', recipient: 'nobody@contoso.com' });
  assert.deepEqual(d.action, { kind: 'reject', reply: 'RECIPIENT_NOT_FOUND' });
});

test('scenario 2: the hub sends outbound through the gateway, which relays it to the internet', () => {
  const e = explainRoute(archive(), { from: 'alice@contoso.com', to: 'x@fabrikam.com' });
  assert.deepEqual(e.hops.map((h) => h.to), ['gateway', 'internet (MX of fabrikam.com)']);
  assert.equal(e.hops[0]!.connector, 'outbound: To archiving service');
});

test('the gateway is not an open relay: external to external is refused', () => {
  const d = decideAt(hybrid(), 'gateway', { sender: 'x@fabrikam.com', recipient: 'y@example.org', arrivedFrom: 'internet' });
  assert.deepEqual(d.action, { kind: 'reject', reply: 'RELAY_DENIED' });
});

test('a gateway the hub connector does not cover is refused by a locked hub (mail cannot bypass or mis-enter)', () => {
  const c = hybrid();
  c.hub.inboundConnectors[0]!.senderIpAddresses = ['192.0.2.1'];
  const d = decideAt(c, 'gateway', { sender: 'x@fabrikam.com', recipient: 'alice@contoso.com' });
  assert.deepEqual(d.action, { kind: 'reject', reply: 'HUB_LOCKED' });
});

test('an internal-relay domain with no on-premises connector has no route (5.4.1)', () => {
  const c = hybrid();
  c.hub.outboundConnectors = [];
  const d = decideAt(c, 'hub', { sender: 'x@fabrikam.com', recipient: 'bob@contoso.com' });
  assert.deepEqual(d.action, { kind: 'reject', reply: 'NO_ROUTE' });
});

test('connector classification prefers a certificate match and knows anonymous clients', () => {
  const c = hybrid();
  const byCert = classifyClient(c, { ip: '198.51.100.7', certNames: ['mail.contoso.com'], tls: true });
  assert.equal(byCert.kind === 'connector' && byCert.by, 'certificate');
  const byIp = classifyClient(c, { ip: '::ffff:10.10.10.1', certNames: [], tls: false });
  assert.equal(byIp.kind === 'connector' && byIp.connector.name, 'From third-party gateway');
  assert.equal(classifyClient(c, { ip: '203.0.113.9', certNames: [], tls: false }).kind, 'anonymous');
  assert.equal(hubIsLocked(c), true);
});

test('outbound connector selection follows EXO order: exact, all accepted domains, wildcard, *', () => {
  const c = hybrid();
  c.hub.outboundConnectors.push(
    { name: 'wild', type: 'partner', enabled: true, recipientDomains: ['*.fabrikam.com'], allAcceptedDomains: false, smartHosts: ['a.example'], tls: 'opportunistic' },
    { name: 'star', type: 'partner', enabled: true, recipientDomains: ['*'], allAcceptedDomains: false, smartHosts: ['b.example'], tls: 'opportunistic' },
  );
  assert.equal(selectOutboundConnector(c, 'contoso.com')!.connector.name, 'To on-premises');
  assert.equal(selectOutboundConnector(c, 'sales.fabrikam.com')!.connector.name, 'wild');
  assert.equal(selectOutboundConnector(c, 'example.org')!.connector.name, 'star');
});

test('ip ranges: v4 CIDR, single, v6', () => {
  assert.ok(ipInRange('10.10.10.77', '10.10.10.0/24'));
  assert.ok(!ipInRange('10.10.11.1', '10.10.10.0/24'));
  assert.ok(ipInRange('2001:db8::5', '2001:db8::/32'));
  assert.ok(!ipInRange('2001:db9::5', '2001:db8::/32'));
  assert.ok(ipInRange('127.0.0.2', '127.0.0.2'));
});

test('ipInRange and ipInAny: families, /0, mapped IPv4, bad input; the same answers when asked again (parsed once)', () => {
  const cases: [string, string, boolean][] = [
    ['192.0.2.7', '192.0.2.0/25', true],
    ['192.0.2.200', '192.0.2.0/25', false],
    ['::ffff:192.0.2.7', '192.0.2.0/24', true],
    ['192.0.2.7', '2001:db8::/32', false],
    ['2001:db8::1', '192.0.2.0/24', false],
    ['203.0.113.9', '0.0.0.0/0', true],
    ['2001:db8:ffff::1', '::/0', true],
    ['2001:db8::1:2', '2001:db8::1:2', true],
    ['2001:db8::1:3', '2001:db8::1:2/128', false],
    ['not-an-ip', '192.0.2.0/24', false],
    ['192.0.2.7', 'not-a-range', false],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [ip, range, want] of cases) assert.equal(ipInRange(ip, range), want, `${ip} in ${range} (round ${round})`);
  }
  assert.ok(ipInAny('198.51.100.3', ['192.0.2.0/24', '198.51.100.0/24']));
  assert.ok(!ipInAny('198.51.101.3', ['192.0.2.0/24', '198.51.100.0/24']));
  assert.ok(!ipInAny('bogus', ['0.0.0.0/0']));
});

test('the demo preset routes every seed path', () => {
  const c = parseConfigText(presetText('demo')).config;
  assert.equal(explainRoute(c, { from: 'x@fabrikam.test', to: 'dave@contoso.test' }).outcome, 'delivered');
  assert.equal(explainRoute(c, { from: 'carol@contoso.test', to: 'x@fabrikam.test' }).outcome, 'internet');
  assert.equal(explainRoute(c, { from: 'x@fabrikam.test', to: 'ghost@contoso.test' }).outcome, 'rejected');
});
