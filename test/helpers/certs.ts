// Throwaway PKI for TLS tests, made with the openssl CLI in a temp dir: a CA, a server certificate for
// localhost/127.0.0.1, a client certificate signed by the CA (CN + SAN DNS names), and a self-signed
// client certificate the CA does not vouch for.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: string;
  server: KeyPair;
  client: KeyPair;
  /** Self-signed: not issued by `ca`. */
  rogueClient: KeyPair;
  /** Removes the temp dir (the PEM strings stay usable). */
  cleanup(): void;
}

export const CLIENT_CN = 'gateway.partner.example';
export const CLIENT_SANS = ['mx1.partner.example', 'mx2.partner.example'];

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = (name: string) => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name));

  ecKey('ca.key');
  ssl('req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=mailflow test CA', '-days', '2', '-out', f('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

  const issue = (name: string, cn: string, san: string, usage: string) => {
    ecKey(`${name}.key`);
    ssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`));
  };
  issue('server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'serverAuth');
  issue('client', CLIENT_CN, CLIENT_SANS.map((n) => `DNS:${n}`).join(','), 'clientAuth');

  ecKey('rogue.key');
  ssl('req', '-x509', '-new', '-key', f('rogue.key'), '-subj', '/CN=rogue.example', '-days', '2', '-out', f('rogue.pem'),
    '-addext', 'subjectAltName=DNS:rogue.example');

  const read = (name: string) => readFileSync(f(name), 'utf8');
  const pki: TestPki = {
    ca: read('ca.pem'),
    server: { key: read('server.key'), cert: read('server.pem') },
    client: { key: read('client.key'), cert: read('client.pem') },
    rogueClient: { key: read('rogue.key'), cert: read('rogue.pem') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return pki;
}
