// Outbound connector shape, limits and queue ranges, mailbox homes, DKIM/DMARC planning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byRule, check, expectNone, expectOne, presetWith } from './helpers.js';

test('an onpremises connector without smart hosts is an error; a partner one an info', () => {
  expectOne(check(presetWith('hybrid', ['      smartHosts: [mail.contoso.com]\n', ''])), 'outbound-smarthosts', 'error', 'hub.outboundConnectors[0].smartHosts');
  expectOne(check(presetWith('archive', ['      smartHosts: [mx.archive.example.net]\n', ''])), 'outbound-smarthosts', 'info', 'hub.outboundConnectors[0].smartHosts');
});

test('a connector with no recipient scope is an error; allAcceptedDomains on a partner connector too', () => {
  expectOne(check(presetWith('hybrid', ['      recipientDomains: [contoso.com]\n', ''])), 'outbound-recipient-scope', 'error', 'hub.outboundConnectors[0].recipientDomains');
  expectNone(check(presetWith('hybrid', ['      recipientDomains: [contoso.com]\n', '      allAcceptedDomains: true\n'])), 'outbound-recipient-scope');
  expectOne(check(presetWith('archive', ["      recipientDomains: ['*']\n", "      recipientDomains: ['*']\n      allAcceptedDomains: true\n"])), 'outbound-recipient-scope', 'error', 'hub.outboundConnectors[0].allAcceptedDomains');
});

test('domain-validation without tlsDomain is a warning', () => {
  expectOne(check(presetWith('hybrid', ['tls: certificate-validation', 'tls: domain-validation'])), 'outbound-tls-domain', 'warning', 'hub.outboundConnectors[0].tls');
  expectNone(check(presetWith('hybrid', ['tls: certificate-validation', 'tls: domain-validation\n      tlsDomain: mail.contoso.com'])), 'outbound-tls-domain');
});

test('message size over 150MB is a warning, over 112MB an info', () => {
  expectOne(check(presetWith('cloud', ['maxMessageSize: 36MB', 'maxMessageSize: 200MB'])), 'limit-message-size', 'warning', 'limits.maxMessageSize');
  expectOne(check(presetWith('cloud', ['maxMessageSize: 36MB', 'maxMessageSize: 120MB'])), 'limit-message-size', 'info', 'limits.maxMessageSize');
});

test('more than 1000 recipients is a warning', () => {
  expectOne(check(presetWith('cloud', ['maxRecipients: 1000', 'maxRecipients: 5000'])), 'limit-recipients', 'warning', 'limits.maxRecipients');
});

test('queue expiry outside 12–24h and a short retry schedule are infos', () => {
  const findings = check(presetWith('cloud', ['expire: 24h', 'expire: 48h']));
  expectOne(findings, 'queue-expire-range', 'info', 'queue.expire');
  expectOne(findings, 'queue-retry-span', 'info', 'queue.retry');
  const short = check(presetWith('cloud', ['retry: 1m,5m,10m,15m,30m,1h*23', 'retry: 1m,5m,1h*3']));
  const f = expectOne(short, 'queue-retry-span', 'info', 'queue.retry');
  assert.match(f.message, /no attempts in the last/);
  expectNone(short, 'queue-expire-range');
});

test('a delay warning not before expiry is an info', () => {
  expectOne(check(presetWith('cloud', ['expire: 24h', 'expire: 24h\n  delayWarning: 30h'])), 'queue-delay-warning', 'info', 'queue.delayWarning');
});

test('an address homed both in the cloud and on-prem is an error', () => {
  const f = expectOne(check(presetWith('hybrid', ['onprem: [bob@contoso.com', 'onprem: [alice@contoso.com, bob@contoso.com'])), 'mailbox-home-conflict', 'error', 'mailboxes.onprem.onprem[0]');
  assert.match(f.message, /alice@contoso\.com is listed both as cloud and as on-prem onprem/);
});

test('a mailbox or rule in a domain that is not accepted is an error', () => {
  expectOne(check(presetWith('cloud', ['cloud: [alice@contoso.com', 'cloud: [alice@fabrikam.com'])), 'mailbox-domain-accepted', 'error', 'mailboxes.cloud[0]');
  const rule = check(presetWith('cloud', ['cloud: [alice@contoso.com, carol@contoso.com]', "cloud: [alice@contoso.com, carol@contoso.com]\n  rules:\n    - match: '*@fabrikam.com'\n      home: cloud"]));
  expectOne(rule, 'mailbox-domain-accepted', 'error', 'mailboxes.rules[0].match');
});

test('DKIM missing for a domain, DMARC missing or p=none', () => {
  const noDkim = check(presetWith('cloud', [/dkim:\n[\s\S]*?onmicrosoft\.com\n/, '']));
  expectOne(noDkim, 'dkim-configured', 'warning', 'domains[0].name');
  const noDmarc = check(presetWith('cloud', [/dmarc:\n  policy: quarantine\n  rua: \[mailto:dmarc-reports@contoso\.com\]\n/, '']));
  expectOne(noDmarc, 'dmarc-configured', 'warning', 'dmarc');
  expectNone(noDmarc, 'dmarc-aggregate-reports');
  const none = check(presetWith('cloud', ['policy: quarantine', 'policy: none']));
  expectOne(none, 'dmarc-configured', 'info', 'dmarc.policy');
  const agg = expectOne(none, 'dmarc-aggregate-reports', 'info', 'dmarc.rua');
  assert.match(agg.message, /no DMARC aggregate/);
});

test('a DKIM key for a domain that is not accepted is a warning', () => {
  const findings = check(presetWith('cloud', ['  - domain: contoso.com\n    selector: selector1', '  - domain: fabrikam.com\n    selector: selector1']));
  // the key moved away from contoso.com, so that domain now lacks one as well
  assert.deepEqual(
    byRule(findings, 'dkim-configured').map((f) => [f.severity, f.location.field]),
    [['warning', 'domains[0].name'], ['warning', 'dkim[0].domain']],
  );
});
