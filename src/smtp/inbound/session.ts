// What policy sees of a connection (SessionInfo) and the envelope, built from smtp-server's session.

import type tls from 'node:tls';
import type { SMTPServerSession } from 'smtp-server';
import { normalizeParams } from './address.js';
import type { ParsedAddress } from './connection.js';
import type { Envelope, PeerCertificate, SessionInfo } from './types.js';

export function newSessionInfo(s: SMTPServerSession): SessionInfo {
  return {
    id: s.id,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    localAddress: s.localAddress,
    localPort: s.localPort,
    helo: '',
    secure: !!s.secure,
    peerCertificate: null,
    notes: {},
  };
}

/** Brings the fields that change during a session (EHLO, TLS) up to date before a hook runs. */
export function refreshSessionInfo(info: SessionInfo, s: SMTPServerSession): SessionInfo {
  info.helo = typeof s.hostNameAppearsAs === 'string' ? s.hostNameAppearsAs : '';
  info.secure = !!s.secure;
  return info;
}

/** The address as the client wrote it (smtp-server's Unicode rewrite undone), '' for <>. */
export function addressOf(p: ParsedAddress | false | undefined): string {
  if (!p) return '';
  return p.raw ?? p.address;
}

export function envelopeOf(s: SMTPServerSession): Envelope {
  const from = s.envelope.mailFrom as ParsedAddress | false;
  return {
    sender: addressOf(from),
    recipients: (s.envelope.rcptTo as ParsedAddress[]).map(addressOf),
    mailParams: normalizeParams(from ? from.args : false),
  };
}

/**
 * The client certificate as connectors match it: CN plus subjectAltName DNS names (lower-case,
 * de-duplicated), and whether the chain verified against our CA bundle. null when none was sent.
 */
export function peerCertificateOf(socket: tls.TLSSocket): PeerCertificate | null {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  const cnRaw = cert.subject?.CN as string | string[] | undefined;
  const cn = Array.isArray(cnRaw) ? cnRaw[0] : cnRaw;
  const names = new Set<string>();
  if (cn) names.add(cn.toLowerCase());
  for (const entry of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+?)\s*$/.exec(entry);
    if (m) names.add(m[1]!.toLowerCase());
  }
  return { subject: cn, names: [...names], authorized: socket.authorized === true };
}
