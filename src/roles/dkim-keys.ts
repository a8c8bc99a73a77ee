// The DKIM keys a role signs with: every `dkim[]` entry for this role that has a private key file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';

export interface DkimSigningKey {
  domain: string;
  selector: string;
  privateKeyPem: string;
}

export function loadDkimKeys(config: Config, baseDir: string, role: string): DkimSigningKey[] {
  return config.dkim
    .filter((k) => k.role === role && k.privateKey)
    .map((k) => ({ domain: k.domain, selector: k.selector, privateKeyPem: readFileSync(resolve(baseDir, k.privateKey!), 'utf8') }));
}
