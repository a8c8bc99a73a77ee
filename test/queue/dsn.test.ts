import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn, dsnSuppression, shouldSendDsn, type DsnInput } from '../../src/queue/dsn.js';
import { headerBlockOf, parseHeaderFields } from '../../src/queue/header-block.js';
import { statusText } from '../../src/queue/dsn-text.js';

const ORIGINAL = Buffer.from(
  'Received: from mail.fabrikam.com ([192.0.2.1])\r\n\tby gw.contoso.com; Mon, 06 Jan 2025 08:59:00 +0000\r\n' +
    'From: Alice <alice@contoso.com>\r\nTo: bob@fabrikam.com\r\nSubject: Quarterly\r\n numbers\r\n' +
    'Message-ID: <orig-1@contoso.com>\r\n\r\nHello Bob\r\n',
);

function input(overrides: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'hub.contoso.com',
    arrivalDate: Date.UTC(2025, 0, 6, 9, 0, 0),
    originalSender: 'alice@contoso.com',
    originalMessageId: 'orig-1@contoso.com',
    originalHeaders: headerBlockOf(ORIGINAL),
    recipients: [
      {
        recipient: 'bob@fabrikam.com',
        action: 'failed',
        status: '5.1.10',
        diagnostic: 'smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found',
        remoteMta: 'mx.fabrikam.com',
        lastAttempt: Date.UTC(2025, 0, 6, 9, 0, 5),
      },
    ],
    postmaster: 'postmaster@contoso.com',
    now: Date.UTC(2025, 0, 6, 9, 0, 6),
    messageIdFor: 'dsn-1@hub.contoso.com',
    ...overrides,
  };
}

interface Part {
  headers: Record<string, string>;
  body: string;
}

/** Splits a message into header map and body, and a multipart body into parts by its boundary. */
function split(text: string): Part {
  const i = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const f of parseHeaderFields(text.slice(0, i))) headers[f.name.toLowerCase()] = f.value;
  return { headers, body: text.slice(i + 4) };
}

function parseReport(body: Buffer): { top: Part; parts: Part[] } {
  const text = body.toString('utf8');
  assert.ok(!/[^\r]\n/.test(text) && !/\r[^\n]/.test(text), 'CRLF line ends throughout');
  const top = split(text);
  const boundary = /boundary="([^"]+)"/.exec(top.headers['content-type']!)![1]!;
  const chunks = top.body.split(`--${boundary}`);
  assert.equal(chunks.at(-1), '--\r\n', 'closing boundary ends the message');
  const parts = chunks.slice(1, -1).map((c) => split(c.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  return { top, parts };
}

/** message/delivery-status: groups of fields separated by blank lines. */
function statusGroups(body: string): Record<string, string>[] {
  return body
    .split('\r\n\r\n')
    .filter((g) => g.trim())
    .map((g) => Object.fromEntries(parseHeaderFields(g).map((f) => [f.name, f.value])));
}

test('a failed DSN is a multipart/report with a human part, delivery-status and the original headers', () => {
  const dsn = buildDsn(input());
  assert.equal(dsn.sender, '');
  assert.equal(dsn.recipient, 'alice@contoso.com');
  const { top, parts } = parseReport(dsn.body);

  assert.equal(top.headers['from'], '"Mail Delivery System" <postmaster@contoso.com>');
  assert.equal(top.headers['to'], 'alice@contoso.com');
  assert.equal(top.headers['subject'], 'Undeliverable: Quarterly numbers');
  assert.equal(top.headers['date'], 'Mon, 06 Jan 2025 09:00:06 +0000');
  assert.equal(top.headers['message-id'], '<dsn-1@hub.contoso.com>');
  assert.equal(top.headers['in-reply-to'], '<orig-1@contoso.com>');
  assert.equal(top.headers['auto-submitted'], 'auto-replied');
  assert.equal(top.headers['mime-version'], '1.0');
  assert.match(top.headers['content-type']!, /^multipart\/report; report-type=delivery-status;/);
  assert.equal(parts.length, 3);

  const [human, status, headers] = parts as [Part, Part, Part];
  assert.match(human.headers['content-type']!, /^text\/plain; charset=utf-8/);
  assert.match(human.body, /Your message to bob@fabrikam\.com couldn't be delivered\./);
  assert.match(human.body, /bob wasn't found at fabrikam\.com\./);
  assert.match(human.body, /How to fix it\r\n/);
  assert.match(human.body, /More info for email admins\r\nStatus code: 550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound; Recipient not found\r\n/);
  assert.match(human.body, /Remote server: mx\.fabrikam\.com/);

  assert.equal(status.headers['content-type'], 'message/delivery-status');
  const [perMessage, perRcpt] = statusGroups(status.body);
  assert.deepEqual(perMessage, { 'Reporting-MTA': 'dns; hub.contoso.com', 'Arrival-Date': 'Mon, 06 Jan 2025 09:00:00 +0000' });
  assert.deepEqual(perRcpt, {
    'Final-Recipient': 'rfc822; bob@fabrikam.com',
    Action: 'failed',
    Status: '5.1.10',
    'Remote-MTA': 'dns; mx.fabrikam.com',
    'Diagnostic-Code': 'smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found',
    'Last-Attempt-Date': 'Mon, 06 Jan 2025 09:00:05 +0000',
  });

  assert.equal(headers.headers['content-type'], 'text/rfc822-headers');
  assert.equal(headers.body.replace(/\r\n$/, ''), headerBlockOf(ORIGINAL).toString());
  assert.doesNotMatch(headers.body, /Hello Bob/, 'only the header block, never the original body');
});

test('a delayed DSN says so in the subject, the text and the Action field, one group per recipient', () => {
  const dsn = buildDsn(
    input({
      recipients: [
        { recipient: 'bob@fabrikam.com', action: 'delayed', status: '4.4.316', diagnostic: '450 4.4.316 Connection refused' },
        { recipient: 'carol@fabrikam.com', action: 'delayed', status: '4.4.7' },
      ],
    }),
  );
  const { top, parts } = parseReport(dsn.body);
  assert.equal(top.headers['subject'], 'Delivery delayed: Quarterly numbers');
  assert.match(parts[0]!.body, /Delivery of your message to bob@fabrikam\.com has been delayed/);
  assert.match(parts[0]!.body, /refused the connection/);
  const groups = statusGroups(parts[1]!.body);
  assert.equal(groups.length, 3);
  assert.equal(groups[1]!['Action'], 'delayed');
  assert.equal(groups[1]!['Diagnostic-Code'], 'smtp; 450 4.4.316 Connection refused', 'smtp; added when missing');
  assert.equal(groups[2]!['Final-Recipient'], 'rfc822; carol@fabrikam.com');
  assert.equal(groups[2]!['Diagnostic-Code'], undefined);
});

test('long delivery-status fields are folded and unfold to the same value', () => {
  const long = `smtp; 550 5.7.1 ${'policy words '.repeat(20).trim()}`;
  const dsn = buildDsn(input({ recipients: [{ recipient: 'bob@fabrikam.com', action: 'failed', status: '5.7.1', diagnostic: long }] }));
  const { parts } = parseReport(dsn.body);
  assert.ok(parts[1]!.body.split('\r\n').every((l) => l.length <= 78));
  assert.equal(statusGroups(parts[1]!.body)[1]!['Diagnostic-Code'], long);
});

test('a DSN is reproducible from its inputs and its boundary never occurs inside a part', () => {
  assert.ok(buildDsn(input()).body.equals(buildDsn(input()).body));
  const a = buildDsn(input({ messageIdFor: 'a@x' })).body.toString();
  const boundary = /boundary="([^"]+)"/.exec(a)![1]!;
  const tricky = Buffer.from(`Subject: ${boundary}\r\nX: y`);
  const b = buildDsn(input({ messageIdFor: 'a@x', originalHeaders: tricky })).body.toString();
  const b2 = /boundary="([^"]+)"/.exec(b)![1]!;
  assert.notEqual(b2, boundary);
});

test('bare LF in the original headers becomes CRLF in the report', () => {
  const dsn = buildDsn(input({ originalHeaders: Buffer.from('Subject: lf\nFrom: a@b\n') }));
  const { parts } = parseReport(dsn.body);
  assert.equal(parts[2]!.body, 'Subject: lf\r\nFrom: a@b\r\n');
});

test('no DSN for the null sender, mailer daemons, reports, or suppression headers', () => {
  const plain = Buffer.from('From: a@contoso.com\r\nSubject: hi\r\n');
  assert.equal(shouldSendDsn('alice@contoso.com', plain), true);
  assert.equal(shouldSendDsn('', plain), false);
  assert.equal(shouldSendDsn('MAILER-DAEMON@fabrikam.com', plain), false);
  assert.equal(shouldSendDsn('double-bounce@fabrikam.com', plain), false);
  assert.equal(shouldSendDsn('postmaster@fabrikam.com', plain), true, 'postmaster is a person: it gets reports');
  const report = Buffer.from('From: x@y\r\nContent-Type: multipart/report;\r\n report-type=delivery-status; boundary="b"\r\n');
  assert.equal(shouldSendDsn('alice@contoso.com', report), false);
  assert.match(dsnSuppression('alice@contoso.com', report)!, /multipart\/report/);
  assert.equal(shouldSendDsn('alice@contoso.com', Buffer.from('From: "Mail Delivery System" <MAILER-DAEMON@x.com>\r\n')), false);
  assert.equal(shouldSendDsn('alice@contoso.com', Buffer.from('X-Auto-Response-Suppress: DR, NDR\r\n')), false);
  assert.equal(shouldSendDsn('alice@contoso.com', Buffer.from('X-Auto-Response-Suppress: OOF\r\n')), true);
});

test('a DSN of our own is recognised as one and never answered with another', () => {
  const dsn = buildDsn(input());
  assert.equal(shouldSendDsn(dsn.sender, headerBlockOf(dsn.body)), false);
  assert.equal(shouldSendDsn('someone@relay.example', headerBlockOf(dsn.body)), false, 'even if the envelope sender was rewritten');
});

test('status texts: exact codes, then the class.subject fallback', () => {
  assert.match(statusText('5.1.1').cause, /wasn't found/);
  assert.match(statusText('5.4.300').cause, /retry period/);
  assert.match(statusText('4.4.7').cause, /retry period/);
  assert.match(statusText('5.4.14').cause, /loop/);
  assert.match(statusText('5.3.4').cause, /larger/);
  assert.match(statusText('5.7.999').cause, /security or policy/);
  assert.match(statusText('4.4.999').cause, /routed/);
  assert.ok(statusText('9.9.9').cause.length > 0);
});
