// Sending a message to one next hop over SMTP and telling what happened, per recipient.
import type { Reply } from '../replies.js';

export type TlsPolicy = 'opportunistic' | 'required' | 'certificate-validation' | 'domain-validation' | 'none';

export interface SendTarget {
  /** Host name or IP to connect to (already chosen: an MX host or a smart host). */
  host: string;
  port: number;
  /** Name to check the server certificate against (domain-validation); defaults to host. */
  servername?: string;
  tls: TlsPolicy;
  /** PEM CA bundle for certificate validation. */
  ca?: string;
  /** Client certificate presented to the next hop (connectors match on it). */
  clientCert?: { key: string; cert: string };
  /** Local address to send from (roles on 127.0.0.x send from their own address). */
  localAddress?: string;
}

export interface SendRequest {
  target: SendTarget;
  /** EHLO name. */
  hostname: string;
  sender: string;
  recipients: string[];
  body: Buffer;
}

export type RecipientOutcome =
  | { recipient: string; kind: 'delivered'; reply: Reply }
  | { recipient: string; kind: 'deferred'; reply: Reply }
  | { recipient: string; kind: 'failed'; reply: Reply };

export interface SendResult {
  /** The host actually talked to (IP:port) and whether TLS was used. */
  remote: string;
  tls: boolean;
  outcomes: RecipientOutcome[];
}

export interface SmtpSender {
  send(req: SendRequest): Promise<SendResult>;
  close(): Promise<void>;
}
