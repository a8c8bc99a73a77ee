// DMARC aggregate-report data in SQLite: counts per day and per (domain, IP, results, disposition).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthResults } from '../../src/filter/authenticate.js';
import { dayOf, openDmarcReportStore } from '../../src/filter/dmarc-report-store.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-dmarc-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const DAY1 = Date.UTC(2025, 0, 6, 23, 59, 0);
const DAY2 = Date.UTC(2025, 0, 7, 0, 1, 0);

function auth(ip: string, spf: string, dmarc: string, domain: string | null = 'fabrikam.test'): AuthResults {
  return {
    spf: { result: spf as never, domain: 'fabrikam.test', ip, helo: 'x', comment: '' },
    dkim: { result: 'pass', signatures: [{ domain: 'fabrikam.test', selector: 's', result: 'pass', aligned: true, comment: '' }] },
    dmarc: { result: dmarc as never, policy: 'reject', domain, policyDomain: domain, testMode: false, alignment: { spf: null, dkim: null, spfStrict: false, dkimStrict: false }, overriddenByArc: false, ...(domain ? {} : { skipReason: 'no-author-domain' }) },
    arc: { result: 'none', instance: 0, sealer: null, trusted: false, upstream: null },
    headerFrom: domain,
    header: '',
    authResultsValue: '',
    summary: '',
  };
}

test('counts per source and result, per UTC day, with a summary per domain', () => {
  const store = openDmarcReportStore({ file: join(dir, 'r', 'dmarc.db') });
  for (let i = 0; i < 3; i++) store.recordAuth(auth('192.0.2.10', 'pass', 'pass'), 'none', DAY1);
  store.recordAuth(auth('198.51.100.66', 'fail', 'fail'), 'reject', DAY1);
  store.recordAuth(auth('198.51.100.66', 'fail', 'fail'), 'reject', DAY2);
  store.record({ headerFrom: 'Quar.Test', sourceIp: '203.0.113.5', spf: 'fail', dkim: 'none', dmarc: 'fail', disposition: 'quarantine' }, DAY1);
  assert.equal(store.recordAuth(auth('192.0.2.10', 'pass', 'none', null), 'none', DAY1), false);

  assert.equal(dayOf(DAY1), '2025-01-06');
  const s = store.summary('fabrikam.test', '2025-01-06');
  assert.equal(s.total, 4);
  assert.equal(s.pass, 3);
  assert.equal(s.fail, 1);
  assert.deepEqual(
    s.rows.map((r) => [r.sourceIp, r.spf, r.dkim, r.dmarc, r.disposition, r.count, r.dkimDomain]),
    [
      ['192.0.2.10', 'pass', 'pass', 'pass', 'none', 3, 'fabrikam.test'],
      ['198.51.100.66', 'fail', 'pass', 'fail', 'reject', 1, 'fabrikam.test'],
    ],
  );
  assert.equal(store.summary('fabrikam.test', '2025-01-07').total, 1);
  assert.deepEqual(store.domains('2025-01-06'), ['fabrikam.test', 'quar.test']);
  assert.equal(store.summary('nobody.test', '2025-01-06').total, 0);
  store.close();

  // durable: a reopened store has the same counts
  const again = openDmarcReportStore({ file: join(dir, 'r', 'dmarc.db') });
  assert.equal(again.summary('FABRIKAM.TEST', '2025-01-06').total, 4);
  again.close();
});

test('dayOf: the UTC day at both edges of a day, in any order (the last day is remembered)', () => {
  const midnight = Date.UTC(2025, 0, 7);
  const cases: [number, string][] = [
    [midnight - 1, '2025-01-06'],
    [midnight, '2025-01-07'],
    [midnight - 1, '2025-01-06'],
    [midnight + 86_400_000 - 1, '2025-01-07'],
    [midnight + 86_400_000, '2025-01-08'],
    [Date.UTC(1969, 11, 31, 23, 59), '1969-12-31'],
    [0, '1970-01-01'],
  ];
  for (const [at, day] of cases) assert.equal(dayOf(at), day, new Date(at).toISOString());
});
