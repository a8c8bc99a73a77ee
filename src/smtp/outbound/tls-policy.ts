// How each connector TLS policy drives the client, and the judgement of the server's certificate.
//
// The handshake itself never rejects a certificate (rejectUnauthorized: false): nodemailer wraps TLS
// errors in a generic ESOCKET/ETLS error and loses the reason, and we need to tell "certificate
// validation failed" (4.7.320) apart from "could not connect" (4.4.317). Instead the peer is judged
// right after the handshake and the post-TLS EHLO, before MAIL FROM, so no message data and no
// envelope ever crosses an unverified channel.
import { checkServerIdentity, rootCertificates, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import { createHash } from 'node:crypto';
import type { SendTarget, TlsPolicy } from './types.js';

export type Verification = 'none' | 'chain' | 'chain-and-name';

export interface TlsPlan {
  policy: TlsPolicy;
  /** Never send STARTTLS (policy `none`, or the plaintext retry of an opportunistic session). */
  ignoreTls: boolean;
  /** The session must end up encrypted, otherwise defer with 4.4.317. */
  mustEncrypt: boolean;
  verify: Verification;
  /** Name checked against the certificate when verify is chain-and-name. */
  name: string;
  tlsOptions: ConnectionOptions;
}

export function tlsPlan(target: SendTarget, opts: { plaintextRetry?: boolean } = {}): TlsPlan {
  const policy = target.tls;
  const verify: Verification =
    policy === 'domain-validation' ? 'chain-and-name' : policy === 'certificate-validation' ? 'chain' : 'none';
  const tlsOptions: ConnectionOptions = {
    rejectUnauthorized: false,
    // The name is checked in checkPeer, so `chain` and `chain-and-name` stay separate decisions.
    checkServerIdentity: () => undefined,
  };
  // SNI only for names: an IP literal as servername is invalid (RFC 6066) and Node warns.
  if (target.servername && !isIP(target.servername)) tlsOptions.servername = target.servername;
  // A private CA is added to the system roots, not used instead of them.
  if (verify !== 'none' && target.ca) tlsOptions.ca = [...rootCertificates, target.ca];
  if (target.clientCert) {
    tlsOptions.key = target.clientCert.key;
    tlsOptions.cert = target.clientCert.cert;
  }
  return {
    policy,
    ignoreTls: policy === 'none' || !!opts.plaintextRetry,
    mustEncrypt: policy === 'required' || verify !== 'none',
    verify,
    name: target.servername ?? target.host,
    tlsOptions,
  };
}

/** What the TLS socket tells us about the server after the handshake. */
export interface PeerFacts {
  authorized: boolean;
  authorizationError?: string;
  certificate?: PeerCertificate;
}

/** null when the peer is acceptable under the plan, else the reason (for a 4.7.320 reply). */
export function checkPeer(plan: TlsPlan, peer: PeerFacts): string | null {
  if (plan.verify === 'none') return null;
  if (!peer.certificate || !peer.certificate.raw) return 'server presented no certificate';
  if (!peer.authorized) return peer.authorizationError ? String(peer.authorizationError) : 'certificate chain not trusted';
  if (plan.verify === 'chain-and-name') {
    const err = checkServerIdentity(plan.name, peer.certificate);
    if (err) return err.message;
  }
  return null;
}

/** Part of the pool key that changes how a session is secured. */
export function tlsIdentity(target: SendTarget): string {
  return [target.tls, target.servername ?? '', target.ca ? shortHash(target.ca) : '', target.clientCert ? shortHash(target.clientCert.cert) : ''].join(
    ':',
  );
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}
