// What `mailflow init -o` makes for a topology: a local CA and a certificate per role (STARTTLS
// everywhere, connector certificates), and a DKIM key for each signing entry that has none; their
// paths are written into the YAML with its comments kept.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { parseConfigText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ensureCertificates, generateDkimKey } from '../tls/certs.js';
import { roleConfig, roleNames } from './names.js';
import { certificateName } from '../routing/hosts.js';

/** Generate the keys next to the config file and point the config at them; comments are kept. */
export async function withKeys(text: string, file: string): Promise<string> {
  const config: Config = parseConfigText(text, file).config;
  const base = dirname(resolve(file));
  const keysDir = join(base, 'keys');
  const rel = (p: string) => relative(base, p) || p;
  const roles = roleNames(config);
  const certs = await ensureCertificates(
    keysDir,
    roles.map((role) => {
      const r = roleConfig(config, role);
      const ips = [...r.addresses, r.listen.split(':')[0]!].filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h) && h !== '0.0.0.0');
      return { name: role, subject: certificateName(r), altNames: [r.hostname], ips: [...new Set(ips)] };
    }),
  );
  const doc = parseDocument(text);
  for (const role of roles) {
    const c = certs.certs[role]!;
    const path = role === 'gateway' || role === 'hub' ? [role, 'tls'] : ['onprem', config.onprem.findIndex((o) => o.name === role), 'tls'];
    const r = roleConfig(config, role);
    doc.setIn(path, doc.createNode({ cert: rel(c.cert), key: rel(c.key), ca: rel(certs.ca.cert), subject: certificateName(r) }));
  }
  // ARC sealing keys named in the config but not on disk yet.
  for (const role of roles) {
    const seal = roleConfig(config, role).filter?.arcSeal;
    if (seal && !existsSync(resolve(base, seal.privateKey))) await generateDkimKey(resolve(base, seal.privateKey));
  }
  for (const [i, k] of config.dkim.entries()) {
    if (k.cname || k.publicKey || k.privateKey) continue;
    const keyFile = join(keysDir, `dkim-${k.domain}-${k.selector}.pem`);
    await generateDkimKey(keyFile);
    doc.setIn(['dkim', i, 'privateKey'], rel(keyFile));
  }
  return doc.toString({ lineWidth: 0 });
}
