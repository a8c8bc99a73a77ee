import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import {
  classifyError,
  failureReply,
  isUnsafeAddress,
  needsSmtpUtf8,
  outcomeFor,
  parseReply,
  transactionOutcomes,
  type ErrorFacts,
} from '../../src/smtp/outbound/classify.js';
import { reply } from '../../src/smtp/replies.js';
import { has8bit, normalizeLineEndings } from '../../src/smtp/outbound/line-endings.js';

const base: ErrorFacts = { message: 'x', connected: false, duringTls: false };
const errno = (name: keyof typeof constants.errno) => -constants.errno[name];
const enhancedOf = (f: ErrorFacts) => failureReply(classifyError(f)).enhanced;

test('connection failures map to the EXO mail flow intelligence codes', () => {
  assert.equal(enhancedOf({ ...base, code: 'EDNS' }), '4.4.312');
  assert.equal(enhancedOf({ ...base, code: 'ESOCKET', errno: errno('ETIMEDOUT') }), '4.4.315');
  assert.equal(enhancedOf({ ...base, code: 'ETIMEDOUT', message: 'Connection timeout' }), '4.4.315');
  assert.equal(enhancedOf({ ...base, code: 'ETIMEDOUT', message: 'Greeting never received', connected: true }), '4.4.315');
  // nodemailer overwrites code with ESOCKET; the errno still says what happened
  assert.equal(enhancedOf({ ...base, code: 'ESOCKET', errno: errno('ECONNREFUSED') }), '4.4.316');
  assert.equal(enhancedOf({ ...base, code: 'ESOCKET', errno: errno('EHOSTUNREACH') }), '4.4.317');
  assert.equal(enhancedOf({ ...base, code: 'ESOCKET', errno: errno('ENETUNREACH') }), '4.4.317');
  assert.equal(enhancedOf({ ...base, code: 'ECONNECTION', connected: true, message: 'Connection closed unexpectedly' }), '4.4.318');
  assert.equal(enhancedOf({ ...base, code: 'ESOCKET', errno: errno('ECONNRESET'), connected: true }), '4.4.318');
  assert.equal(failureReply({ kind: 'certificate', detail: 'self-signed certificate' }).enhanced, '4.7.320');
  assert.equal(failureReply({ kind: 'connect', detail: 'TLS required' }).enhanced, '4.4.317');
});

test('every connection-level reply is a 450 deferral', () => {
  for (const f of [
    { ...base, code: 'EDNS' },
    { ...base, code: 'ETIMEDOUT' },
    { ...base, errno: errno('ECONNREFUSED') },
    { ...base, connected: true, code: 'ECONNECTION' },
  ]) {
    assert.equal(failureReply(classifyError(f)).code, 450);
  }
});

test('TLS trouble during STARTTLS is "cannot connect" (4.4.317), even with a server reply', () => {
  const f = classifyError({ ...base, connected: true, duringTls: true, code: 'ESOCKET', message: 'wrong version number' });
  assert.equal(f.kind, 'connect');
  const refused = classifyError({ ...base, connected: true, code: 'ETLS', response: '454 4.7.0 TLS not available' });
  assert.equal(refused.kind, 'connect');
  assert.match(failureReply(refused).text, /454 4\.7\.0 TLS not available/);
});

test('a greeting or EHLO 4xx/421 keeps the server reply; a 5xx greeting defers instead of bouncing', () => {
  const busy = failureReply(classifyError({ ...base, connected: true, code: 'EPROTOCOL', response: '421 4.7.0 Too busy' }));
  assert.deepEqual(busy, { code: 421, enhanced: '4.7.0', text: 'Too busy' });
  const noService = failureReply(classifyError({ ...base, connected: true, code: 'EPROTOCOL', response: '554 No SMTP service here' }));
  assert.equal(noService.code, 450);
  assert.equal(noService.enhanced, '4.4.317');
  assert.match(noService.text, /554 No SMTP service here/);
});

test('parseReply reads code, enhanced code and multi-line text', () => {
  assert.deepEqual(parseReply('550 5.1.1 <a@b> User unknown'), { code: 550, enhanced: '5.1.1', text: '<a@b> User unknown' });
  assert.deepEqual(parseReply('250-first\n250 2.0.0 Ok: queued as X'), { code: 250, enhanced: '2.0.0', text: 'first Ok: queued as X' });
  assert.deepEqual(parseReply('451 try later'), { code: 451, enhanced: '4.0.0', text: 'try later' });
  // an enhanced code of the wrong class is text, not a status
  assert.equal(parseReply('550 4.1.1 odd').enhanced, '5.0.0');
});

test('outcomeFor: 2xx delivered, 4xx deferred, 5xx failed', () => {
  assert.equal(outcomeFor('a@x', { code: 250, enhanced: '2.0.0', text: '' }).kind, 'delivered');
  assert.equal(outcomeFor('a@x', { code: 450, enhanced: '4.2.0', text: '' }).kind, 'deferred');
  assert.equal(outcomeFor('a@x', { code: 550, enhanced: '5.1.1', text: '' }).kind, 'failed');
});

test('transactionOutcomes: RCPT answers per recipient, DATA answer for the accepted ones', () => {
  const rcptRefused = new Map([
    ['b@x', parseReply('450 4.2.1 mailbox busy')],
    ['c@x', parseReply('550 5.1.1 no such user')],
  ]);
  const ok = transactionOutcomes(['a@x', 'b@x', 'c@x'], { rcptRefused, dataReply: parseReply('250 2.0.0 queued') });
  assert.deepEqual(
    ok.map((o) => [o.recipient, o.kind, o.reply.enhanced]),
    [
      ['a@x', 'delivered', '2.0.0'],
      ['b@x', 'deferred', '4.2.1'],
      ['c@x', 'failed', '5.1.1'],
    ],
  );
  const dataNo = transactionOutcomes(['a@x', 'c@x'], { rcptRefused, dataReply: parseReply('554 5.7.1 spam') });
  assert.deepEqual(dataNo.map((o) => [o.kind, o.reply.code]), [['failed', 554], ['failed', 550]]);
  const mailNo = transactionOutcomes(['a@x', 'b@x'], { rcptRefused: new Map(), mailRefused: parseReply('451 4.3.0 later') });
  assert.deepEqual(mailNo.map((o) => o.kind), ['deferred', 'deferred']);
  const lost = transactionOutcomes(['a@x', 'c@x'], { rcptRefused, lost: reply('CONNECTION_DROPPED') });
  assert.deepEqual(lost.map((o) => [o.kind, o.reply.enhanced]), [['deferred', '4.4.318'], ['failed', '5.1.1']]);
});

test('address checks: SMTPUTF8 need and unsafe characters', () => {
  assert.equal(needsSmtpUtf8('user@example.com'), false);
  assert.equal(needsSmtpUtf8('josé@example.com'), true);
  assert.equal(needsSmtpUtf8('user@bücher.example'), true);
  assert.equal(isUnsafeAddress('a@b'), false);
  assert.equal(isUnsafeAddress('a@b>\r\nRCPT TO:<x@y'), true);
  assert.equal(isUnsafeAddress('a b@c'), true);
});

test('normalizeLineEndings turns bare CR and bare LF into CRLF and leaves CRLF alone', () => {
  const cases: [string, string][] = [
    ['a\r\nb\r\n', 'a\r\nb\r\n'],
    ['a\nb\n', 'a\r\nb\r\n'],
    ['a\rb\r', 'a\r\nb\r\n'],
    ['\r\r\n\n', '\r\n\r\n\r\n'],
    ['x\r\n.\r\ny\r', 'x\r\n.\r\ny\r\n'],
    ['\n', '\r\n'],
    ['', ''],
  ];
  for (const [input, want] of cases) assert.equal(normalizeLineEndings(Buffer.from(input, 'latin1')).toString('latin1'), want, JSON.stringify(input));
  const clean = Buffer.from('already\r\nclean\r\n');
  assert.equal(normalizeLineEndings(clean), clean, 'a clean body is not copied');
  assert.equal(has8bit(Buffer.from('plain')), false);
  assert.equal(has8bit(Buffer.from('café')), true);
});
