// `mailflow dkim keygen` (in-process) and the filter settings in the config.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { keygen } from '../../src/cli/dkim.js';
import { CliExit } from '../../src/cli/common.js';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { filterSettingsFor } from '../../src/filter/settings.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-dkimcli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('dkim keygen', () => {
  test('--out without a config: a PEM key and the TXT record of its public key; reused unless --force', async () => {
    const out = join(dir, 'k', 'key.pem');
    const r = await keygen({ out, domain: 'contoso.test', selector: 's2025' });
    assert.equal(r.created, true);
    assert.equal(r.record.name, 's2025._domainkey.contoso.test');
    const pem = readFileSync(out, 'utf8');
    const p = createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
    assert.equal(r.record.value, `v=DKIM1; k=rsa; p=${p}`);
    const again = await keygen({ out, domain: 'contoso.test', selector: 's2025' });
    assert.equal(again.created, false);
    assert.equal(again.record.value, r.record.value);
    const rotated = await keygen({ out, domain: 'contoso.test', selector: 's2025', force: true });
    assert.notEqual(rotated.record.value, r.record.value);
  });

  test('--config: the key of a dkim entry next to the config, and a hint when privateKey is not set', async () => {
    const file = join(dir, 'demo.yaml');
    writeFileSync(file, presetText('demo'));
    const r = await keygen({ config: file });
    assert.equal(r.domain, 'contoso.test');
    assert.equal(r.selector, 'hub1');
    assert.equal(r.keyFile, join(dir, 'keys', 'dkim-contoso.test-hub1.pem'));
    assert.ok(existsSync(r.keyFile));
    assert.match(r.configHint ?? '', /set privateKey: keys\/dkim-contoso\.test-hub1\.pem in the dkim entry for contoso\.test/);
    // a domain without an entry: where to add one
    const other = await keygen({ config: file, domain: 'sales.contoso.test', selector: 's1' });
    assert.match(other.configHint ?? '', /- domain: sales\.contoso\.test\n {4}selector: s1/);
  });

  test('usage errors exit 2', async () => {
    await assert.rejects(keygen({}), (e: unknown) => e instanceof CliExit && e.code === 2);
    await assert.rejects(keygen({ out: join(dir, 'x.pem'), selector: 'bad selector' }), (e: unknown) => e instanceof CliExit && e.code === 2);
  });
});

describe('filter settings', () => {
  test('defaults, and enabled decided by the topology when unset', () => {
    const { config } = parseConfigText(presetText('demo'));
    const gw = filterSettingsFor(config, 'gateway');
    assert.equal(gw.enabled, config.gateway.filtering);
    assert.deepEqual(gw.thresholds, { junk: 5, quarantine: 10, reject: 15 });
    assert.equal(gw.malware, 'reject');
    assert.equal(gw.enforceDmarc, true);
    assert.equal(filterSettingsFor(config, 'hub').enabled, !config.gateway.filtering || config.scenario === 'archiving');
    assert.equal(filterSettingsFor(config, config.onprem[0]!.name).enabled, false);
  });

  test('a filter section per role parses with its own thresholds, scanners and block lists', () => {
    const doc = parseDocument(presetText('demo'));
    doc.setIn(['hub', 'filter'], doc.createNode({
      enabled: true,
      thresholds: { junk: 4, reject: 12 },
      malware: 'quarantine',
      trustedArcSealers: ['Gateway.Contoso.Test'],
      dnsbl: [{ zone: 'bl.mailflow.test' }],
      rspamd: { endpoint: '127.0.0.1:11333' },
      clamd: { endpoint: '127.0.0.1:3310', timeout: '5s' },
      arcSeal: { domain: 'contoso.test', selector: 'arc1', privateKey: 'keys/arc.pem' },
    }));
    const { config } = parseConfigText(doc.toString());
    const hub = filterSettingsFor(config, 'hub');
    assert.equal(hub.enabled, true);
    assert.deepEqual(hub.thresholds, { junk: 4, quarantine: 10, reject: 12 });
    assert.equal(hub.malware, 'quarantine');
    assert.deepEqual(hub.trustedArcSealers, ['gateway.contoso.test']);
    assert.deepEqual(hub.dnsbl, [{ zone: 'bl.mailflow.test', score: 5 }]);
    assert.equal(hub.clamd?.timeout, 5000);
    assert.equal(hub.rspamd?.timeout, 15000);
    assert.equal(hub.maxScanSize, 25 * 1024 * 1024);
  });

  test('a bad filter field is a config error naming the field', () => {
    const doc = parseDocument(presetText('demo'));
    doc.setIn(['gateway', 'filter'], doc.createNode({ malware: 'deliver' }));
    assert.throws(() => parseConfigText(doc.toString()), (e: { problems?: { field: string }[] }) => !!e.problems?.some((p) => p.field.includes('gateway.filter.malware')));
  });
});
