// toMailauthResolver: our statuses become the node dns error codes mailauth's SPF limiter reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toMailauthResolver } from '../../src/dns/client.js';
import type { DnsResult, RecordType, Resolver } from '../../src/dns/types.js';

function fixed(results: Record<string, DnsResult>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      asked.push(`${type} ${name}`);
      return (results[name] ?? { status: 'nxdomain' }) as DnsResult<T>;
    },
  };
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'resolved';
};

test('answers come back in the shapes of dns.promises.resolve', async () => {
  const r = toMailauthResolver(
    fixed({
      'txt.test': { status: 'ok', answers: [['v=spf1 ', '-all']] },
      'mx.test': { status: 'ok', answers: [{ priority: 5, exchange: 'mx.test' }] },
      'a.test': { status: 'ok', answers: ['192.0.2.1'] },
    }),
  );
  assert.deepEqual(await r('txt.test', 'TXT'), [['v=spf1 ', '-all']]);
  assert.deepEqual(await r('mx.test', 'MX'), [{ priority: 5, exchange: 'mx.test' }]);
  assert.deepEqual(await r('a.test', 'a'), ['192.0.2.1']);
});

test('statuses map to the codes mailauth treats as void, temperror or permerror', async () => {
  const r = toMailauthResolver(
    fixed({
      'nx.test': { status: 'nxdomain' },
      'nodata.test': { status: 'nodata' },
      'slow.test': { status: 'timeout', message: 'no answer' },
      'sf.test': { status: 'servfail', message: 'SERVFAIL' },
      'ref.test': { status: 'refused', message: 'REFUSED' },
      'err.test': { status: 'error', message: 'socket' },
    }),
  );
  assert.equal(await codeOf(r('nx.test', 'TXT')), 'ENOTFOUND');
  assert.equal(await codeOf(r('nodata.test', 'TXT')), 'ENODATA');
  assert.equal(await codeOf(r('slow.test', 'TXT')), 'ETIMEOUT');
  assert.equal(await codeOf(r('sf.test', 'TXT')), 'ESERVFAIL');
  assert.equal(await codeOf(r('ref.test', 'TXT')), 'EREFUSED');
  assert.equal(await codeOf(r('err.test', 'TXT')), 'ECONNREFUSED');
});

test('a name the wire cannot carry is EBADNAME without a query; unknown types are ENOTIMP', async () => {
  const inner = fixed({});
  const r = toMailauthResolver(inner);
  assert.equal(await codeOf(r(`${'a'.repeat(64)}.test`, 'TXT')), 'EBADNAME');
  assert.equal(await codeOf(r('x.test', 'SRV')), 'ENOTIMP');
  assert.deepEqual(inner.asked, []);
});

test('lookup errors are ordinary answers: code and name kept, no stack captured, the global limit restored', async () => {
  const before = Error.stackTraceLimit;
  const r = toMailauthResolver(fixed({}));
  const err = await r('nx.test', 'TXT').then(
    () => assert.fail('resolved'),
    (e: Error & { code?: string; hostname?: string }) => e,
  );
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ENOTFOUND');
  assert.equal(err.hostname, 'nx.test');
  assert.match(err.message, /ENOTFOUND nx\.test/);
  // the message line only: no "    at ..." frames
  assert.doesNotMatch(String(err.stack), /\n\s+at /);
  assert.equal(Error.stackTraceLimit, before);
});
