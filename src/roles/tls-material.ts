// The certificate a role listens and sends with: from the config, or generated into the data
// directory by a local CA when the config names none (STARTTLS everywhere).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { ensureCertificates } from '../tls/certs.js';
import { roleConfig } from './names.js';
import { certificateName } from '../routing/hosts.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  ca?: string;
  /** The name our certificate carries (what hub connectors match on). */
  subject: string;
}

export async function tlsMaterialFor(config: Config, baseDir: string, role: string): Promise<TlsMaterial> {
  const r = roleConfig(config, role);
  const subject = certificateName(r);
  const read = (p: string) => readFileSync(resolve(baseDir, p), 'utf8');
  if (r.tls.cert && r.tls.key) {
    return { key: read(r.tls.key), cert: read(r.tls.cert), ca: r.tls.ca ? read(r.tls.ca) : undefined, subject };
  }
  // No certificate configured: one local CA per data directory signs every role's certificate, so the
  // roles can verify each other (and the hub can match connector certificates) out of the box.
  const dir = join(resolve(baseDir, config.dataDir), 'certs');
  const addresses = [...r.addresses, ...[r.listen.split(':')[0] ?? ''].filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h))];
  const made = await ensureCertificates(dir, [{ name: role, subject, altNames: [r.hostname], ips: [...new Set(addresses)] }]);
  const c = made.certs[role]!;
  return { key: readFileSync(c.key, 'utf8'), cert: readFileSync(c.cert, 'utf8'), ca: readFileSync(made.ca.cert, 'utf8'), subject };
}
