// What a role's policy sees of an SMTP session, and what it answers. The listener (smtp-server
// wiring) owns framing, limits and replies; the policy owns decisions and returns values.
import type { Logger } from 'pino';
import type { Resolver } from '../../dns/types.js';
import type { Reply } from '../replies.js';

export interface PeerCertificate {
  subject: string | undefined;
  /** DNS names from subjectAltName plus the CN. */
  names: string[];
  /** True when the chain verified against the role's CA bundle. */
  authorized: boolean;
}

export interface SessionInfo {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** EHLO/HELO argument. */
  helo: string;
  secure: boolean;
  peerCertificate: PeerCertificate | null;
  /** Scratch space the policy may fill at connect/MAIL time (e.g. the matched connector). */
  notes: Record<string, unknown>;
}

export type Decision = { kind: 'accept'; reply?: Reply } | { kind: 'reject'; reply: Reply } | { kind: 'defer'; reply: Reply };

export interface Envelope {
  /** '' for the null reverse-path. */
  sender: string;
  recipients: string[];
  /** MAIL FROM parameters as given (upper-case keys), e.g. SIZE, BODY, SMTPUTF8. */
  mailParams: Record<string, string | true>;
}

export interface InboundPolicy {
  onConnect?(session: SessionInfo): Promise<Decision> | Decision;
  onMailFrom?(session: SessionInfo, sender: string): Promise<Decision> | Decision;
  onRcptTo?(session: SessionInfo, envelope: Envelope, recipient: string): Promise<Decision> | Decision;
  /**
   * The whole message, already checked against the limits, line ends normalised to CRLF and our
   * Received header prepended. Resolve `accept` only when the message is durable (queued or delivered).
   * `recipients` are only those accepted at RCPT time.
   */
  onMessage(session: SessionInfo, envelope: Envelope, message: Buffer): Promise<Decision> | Decision;
}

export interface InboundLimits {
  maxMessageSize: number;
  maxRecipients: number;
  maxLineLength: number;
  maxHeaderSize: number;
  maxHops: number;
  maxConnectionsPerIp: number;
  commandTimeout: number;
}

export interface InboundServerOptions {
  /** Name in the greeting, EHLO reply and our Received header. */
  hostname: string;
  host: string;
  port: number;
  /** PEM strings. With key+cert STARTTLS is offered; `ca` verifies client certificates. */
  tls?: { key: string; cert: string; ca?: string };
  /** Ask clients for a certificate (connectors match on it). */
  requestClientCert?: boolean;
  limits: InboundLimits;
  /** ms before the greeting (early-talker check); 0 = greet at once. */
  greetingDelay: number;
  /** Label for the Received header's "with" clause and logs (the role name). */
  role: string;
  policy: InboundPolicy;
  /** Logs; silent when absent. */
  logger?: Logger;
  /** PTR lookups for the Received header; without one no reverse lookup is made ("[ip]"). */
  resolver?: Resolver;
  /** Clock for the Received header date (tests). */
  now?: () => Date;
  /** Told the number of open connections whenever it changes (a listener thread shares it with its role). */
  onConnectionCount?: (open: number) => void;
  /** ms a policy hook may take before the client gets 451 4.3.0 (default 120000; 0 = unbounded). */
  policyTimeout?: number;
}

export interface InboundServer {
  /** Resolves with the bound address (port 0 → the real port). */
  listen(): Promise<{ host: string; port: number }>;
  /** Stop accepting; let sessions in flight finish (bounded), then close. */
  close(graceMs?: number): Promise<void>;
  connections(): number;
}
