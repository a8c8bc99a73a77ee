// Local PKI for a mailflow topology: one CA and a leaf certificate per role (gateway, hub, on-prem),
// made with the openssl CLI once and reused afterwards. Leaves carry serverAuth + clientAuth so the
// same certificate serves a role's listener and the client certificate its connectors match on.
// Also the DKIM signing key (node:crypto, no openssl needed).
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';

export interface CertEntry {
  /** File stem, e.g. 'gateway' → gateway.crt / gateway.key. */
  name: string;
  /** CN and first SAN DNS name. */
  subject: string;
  altNames?: string[];
  ips?: string[];
}

export interface CertPaths {
  cert: string;
  key: string;
}

export interface Certificates {
  ca: CertPaths;
  certs: Record<string, CertPaths>;
}

export interface CertOptions {
  /** openssl binary; default `openssl` from PATH. */
  openssl?: string;
}

const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** Regenerate a leaf that expires within this many ms (so a long-running lab never goes stale). */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export class OpensslMissingError extends Error {
  constructor(bin: string) {
    super(`openssl is needed to generate certificates, but "${bin}" was not found; install openssl (3.x) or provide the certificate files`);
    this.name = 'OpensslMissingError';
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new OpensslMissingError(bin));
      reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

function tmpSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Write to temp names, then rename both into place, so a crash never leaves a half pair. */
async function commitPair(tmp: CertPaths, final: CertPaths): Promise<void> {
  await chmod(tmp.key, 0o600);
  await rename(tmp.key, final.key);
  await rename(tmp.cert, final.cert);
}

function validName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && name !== 'ca';
}

async function reusableLeaf(paths: CertPaths, ca: X509Certificate, entry: CertEntry): Promise<boolean> {
  if (!(await exists(paths.cert)) || !(await exists(paths.key))) return false;
  try {
    const cert = new X509Certificate(await readFile(paths.cert));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    // The requested names must all still be covered (the config may have gained an address).
    if (!cert.checkHost(entry.subject, { subject: 'never' })) return false;
    for (const n of entry.altNames ?? []) if (!cert.checkHost(n, { subject: 'never' })) return false;
    for (const ip of entry.ips ?? []) if (!cert.checkIP(ip)) return false;
    return cert.checkPrivateKey(createPrivateKey(await readFile(paths.key)));
  } catch {
    return false;
  }
}

/** Calls for the same directory run one after another (roles starting together share one CA). */
const busy = new Map<string, Promise<unknown>>();

/** Create (once) the CA and one leaf per entry under `dir`; returns the file paths. */
export function ensureCertificates(dir: string, entries: CertEntry[], opts: CertOptions = {}): Promise<Certificates> {
  const key = resolve(dir);
  const prev = busy.get(key) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => ensureUnlocked(key, entries, opts));
  busy.set(key, next);
  void next.finally(() => {
    if (busy.get(key) === next) busy.delete(key);
  }).catch(() => undefined);
  return next;
}

async function ensureUnlocked(dir: string, entries: CertEntry[], opts: CertOptions): Promise<Certificates> {
  const bin = opts.openssl ?? 'openssl';
  for (const e of entries) {
    if (!validName(e.name)) throw new TypeError(`bad certificate file stem ${JSON.stringify(e.name)}`);
    for (const ip of e.ips ?? []) if (!isIP(ip)) throw new TypeError(`bad IP ${JSON.stringify(ip)} for certificate ${e.name}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca: CertPaths = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  if (!(await exists(ca.cert)) || !(await exists(ca.key))) {
    const tmp = { cert: `${ca.cert}.tmp${tmpSuffix()}`, key: `${ca.key}.tmp${tmpSuffix()}` };
    try {
      // The CN carries a random suffix so two labs' CAs are never confused with each other.
      const cn = `mailflow local CA ${Math.random().toString(36).slice(2, 8)}`;
      await run(bin, [
        'req', '-x509', ...EC, '-keyout', tmp.key, '-out', tmp.cert, '-days', String(CA_DAYS), '-subj', `/CN=${cn}`,
        '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      await commitPair(tmp, ca);
    } finally {
      await rm(tmp.cert, { force: true });
      await rm(tmp.key, { force: true });
    }
  }
  const caCert = new X509Certificate(await readFile(ca.cert));

  const certs: Record<string, CertPaths> = {};
  for (const e of entries) {
    const paths: CertPaths = { cert: join(dir, `${e.name}.crt`), key: join(dir, `${e.name}.key`) };
    certs[e.name] = paths;
    if (await reusableLeaf(paths, caCert, e)) continue;
    const names = [...new Set([e.subject, ...(e.altNames ?? [])])];
    const san = [...names.map((n) => `DNS:${n}`), ...(e.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
    const tmp = { cert: `${paths.cert}.tmp${tmpSuffix()}`, key: `${paths.key}.tmp${tmpSuffix()}` };
    try {
      await run(bin, [
        'req', '-x509', '-CA', ca.cert, '-CAkey', ca.key, ...EC, '-keyout', tmp.key, '-out', tmp.cert,
        '-days', String(LEAF_DAYS), '-subj', `/CN=${e.subject}`,
        '-addext', `subjectAltName=${san}`,
        '-addext', 'basicConstraints=critical,CA:FALSE',
        '-addext', 'keyUsage=critical,digitalSignature',
        '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
      ]);
      await commitPair(tmp, paths);
    } finally {
      await rm(tmp.cert, { force: true });
      await rm(tmp.key, { force: true });
    }
  }
  return { ca, certs };
}

/**
 * The DKIM private key at `path` (RSA 2048, PKCS#8 PEM, mode 0600), created when missing; returns the
 * base64 SubjectPublicKeyInfo for the DNS record's `p=` tag. An existing key is kept (rotation is a
 * deliberate act: pass `{ overwrite: true }`).
 */
export async function generateDkimKey(path: string, opts: { overwrite?: boolean } = {}): Promise<string> {
  let pem: string;
  if (!opts.overwrite && (await exists(path))) {
    pem = await readFile(path, 'utf8');
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp${tmpSuffix()}`;
    await writeFile(tmp, pem, { mode: 0o600 });
    await rename(tmp, path);
  }
  const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  return spki.toString('base64');
}
