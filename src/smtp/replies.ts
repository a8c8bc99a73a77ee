// Every SMTP reply mailflow sends or classifies, in one table: code, enhanced status (RFC 3463, with
// EXO's codes where the hub mirrors EXO), text. Handlers return names from here, never bare numbers.

export interface Reply {
  code: number;
  enhanced: string;
  text: string;
}

export const REPLIES = {
  OK: { code: 250, enhanced: '2.0.0', text: 'OK' },
  SENDER_OK: { code: 250, enhanced: '2.1.0', text: 'Sender OK' },
  RCPT_OK: { code: 250, enhanced: '2.1.5', text: 'Recipient OK' },
  QUEUED: { code: 250, enhanced: '2.6.0', text: 'Queued mail for delivery' },
  DELIVERED: { code: 250, enhanced: '2.0.0', text: 'Delivered to mailbox' },

  // Recipients and relaying
  RECIPIENT_NOT_FOUND: { code: 550, enhanced: '5.1.10', text: 'Recipient not found' },
  MAILBOX_UNKNOWN: { code: 550, enhanced: '5.1.1', text: 'User unknown in this organization' },
  NO_ROUTE: { code: 550, enhanced: '5.4.1', text: 'Relay Access Denied: no connector routes this recipient' },
  RELAY_DENIED: { code: 550, enhanced: '5.7.1', text: 'Unable to relay: not an accepted domain' },
  RELAY_ACCESS_DENIED_ONPREM: { code: 550, enhanced: '5.7.64', text: 'TenantAttribution; Relay Access Denied' },
  HUB_LOCKED: { code: 550, enhanced: '5.7.51', text: 'Mail must arrive through the organization\'s gateway (restricted partner connector)' },
  DIRECT_SEND_REJECTED: { code: 550, enhanced: '5.7.68', text: 'TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources' },
  TLS_REQUIRED: { code: 530, enhanced: '5.7.0', text: 'Must issue a STARTTLS command first' },
  CERT_REQUIRED: { code: 550, enhanced: '5.7.52', text: 'The connector requires a matching TLS certificate' },

  // Limits
  TOO_MANY_RECIPIENTS: { code: 452, enhanced: '4.5.3', text: 'Too many recipients' },
  MESSAGE_TOO_BIG: { code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed maximum message size' },
  LINE_TOO_LONG: { code: 500, enhanced: '5.5.2', text: 'Line too long' },
  HEADER_TOO_BIG: { code: 552, enhanced: '5.3.4', text: 'Message header size exceeds limit' },
  BAD_LINE_ENDINGS: { code: 554, enhanced: '5.6.0', text: 'Bare CR or LF in message data is not allowed' },
  LOOP_DETECTED: { code: 554, enhanced: '5.4.14', text: 'Hop count exceeded - possible mail loop' },
  TOO_MANY_CONNECTIONS: { code: 421, enhanced: '4.7.0', text: 'Too many connections from your address, try again later' },
  UNKNOWN_PARAMETER: { code: 555, enhanced: '5.5.4', text: 'Unsupported MAIL/RCPT parameter' },
  SMTPUTF8_REQUIRED: { code: 553, enhanced: '5.6.7', text: 'Non-ASCII address requires SMTPUTF8' },
  BAD_ADDRESS: { code: 553, enhanced: '5.1.3', text: 'Bad address syntax' },
  TIMEOUT: { code: 421, enhanced: '4.4.2', text: 'Timeout - closing connection' },

  // Local trouble: always temporary, never lose mail
  LOCAL_ERROR: { code: 451, enhanced: '4.3.0', text: 'Temporary local problem, try again later' },
  QUEUE_FULL: { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage' },
  SHUTTING_DOWN: { code: 421, enhanced: '4.3.2', text: 'Service shutting down, try again later' },

  // Delivery outcomes (classified remote failures, EXO mail-flow-intelligence codes)
  DNS_FAILED: { code: 450, enhanced: '4.4.312', text: 'DNS query failed' },
  CONNECT_TIMEOUT: { code: 450, enhanced: '4.4.315', text: 'Connection timed out' },
  CONNECT_REFUSED: { code: 450, enhanced: '4.4.316', text: 'Connection refused' },
  CONNECT_FAILED: { code: 450, enhanced: '4.4.317', text: 'Cannot connect to remote server' },
  CONNECTION_DROPPED: { code: 450, enhanced: '4.4.318', text: 'Connection closed abruptly' },
  TLS_CERT_FAILED: { code: 450, enhanced: '4.7.320', text: 'Certificate validation failed' },
  NO_MX: { code: 550, enhanced: '5.4.4', text: 'Unable to route: the domain accepts no mail (null MX or no host)' },
  NULL_MX: { code: 556, enhanced: '5.1.10', text: 'Recipient domain publishes a null MX and accepts no mail' },
  DOMAIN_NOT_FOUND: { code: 550, enhanced: '5.4.310', text: 'DNS domain does not exist' },
  EXPIRED: { code: 550, enhanced: '5.4.300', text: 'Message expired: delivery was retried until the queue lifetime ran out' },
} as const satisfies Record<string, Reply>;

export type ReplyName = keyof typeof REPLIES;

export function reply(name: ReplyName, text?: string): Reply {
  const r = REPLIES[name];
  return text ? { ...r, text } : { ...r };
}

export function formatReply(r: Reply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

export function isPermanent(r: Reply): boolean {
  return r.code >= 500;
}
