// What an enhanced status code means for the person who sent the mail: a cause and a way to fix it,
// in the plain style of an Exchange Online NDR. Exact codes first, then the RFC 3463 class.subject.

export interface StatusText {
  /** One sentence: what went wrong. `{rcpt}`, `{local}` and `{domain}` are filled in by fillStatusText. */
  cause: string;
  /** What the sender (or their admin) can do about it. */
  fix: string;
}

const RECIPIENT_NOT_FOUND: StatusText = {
  cause: "{local} wasn't found at {domain}. The address might be misspelled, or it might not exist.",
  fix: "Check the recipient's address for spelling errors and send the message again. If it still isn't delivered, contact the recipient some other way and let them know their email admin should check that the address exists.",
};

const EXPIRED: StatusText = {
  cause: "The message couldn't be delivered to {domain} before the retry period ran out. The receiving server didn't accept it in time.",
  fix: "Send the message again later. If the problem continues, ask the recipient's email admin to check that their mail server is reachable and accepting mail.",
};

const CONNECTION: StatusText = {
  cause: "Our server couldn't connect to the mail server for {domain}.",
  fix: "This is usually a temporary problem at the receiving side. If it continues, the recipient's email admin should check that their server accepts connections on port 25 and that the domain's MX records point to it.",
};

const EXACT: Record<string, StatusText> = {
  '5.1.10': RECIPIENT_NOT_FOUND,
  '5.1.1': RECIPIENT_NOT_FOUND,
  '5.1.2': {
    cause: "The domain {domain} couldn't be found or doesn't accept mail.",
    fix: 'Check the part of the address after the @ for spelling errors and send the message again.',
  },
  '5.1.3': {
    cause: "The address {rcpt} isn't a valid email address.",
    fix: 'Correct the address and send the message again.',
  },
  '5.4.300': EXPIRED,
  '4.4.7': EXPIRED,
  '5.4.7': EXPIRED,
  '5.4.316': { ...CONNECTION, cause: 'The mail server for {domain} refused the connection.' },
  '4.4.316': { ...CONNECTION, cause: 'The mail server for {domain} refused the connection. We will keep trying.' },
  '4.4.315': { ...CONNECTION, cause: 'Connecting to the mail server for {domain} timed out. We will keep trying.' },
  '4.4.317': CONNECTION,
  '5.4.317': CONNECTION,
  '4.4.318': { ...CONNECTION, cause: 'The mail server for {domain} closed the connection before the message was accepted.' },
  '4.4.312': {
    cause: "Looking up the mail servers for {domain} in DNS failed. We will keep trying.",
    fix: "If this continues, the recipient's email admin should check the domain's DNS (MX records).",
  },
  '5.4.312': {
    cause: "Looking up the mail servers for {domain} in DNS failed.",
    fix: "The recipient's email admin should check the domain's DNS (MX records).",
  },
  '5.4.4': {
    cause: "{domain} doesn't accept email: it has no mail server (no MX or a null MX record).",
    fix: 'Check the domain part of the address. If it is correct, the recipient needs another address.',
  },
  '5.4.14': {
    cause: 'The message was passed around between mail servers too many times (a mail loop) and was stopped.',
    fix: "This needs an email admin: a forwarding rule or a connector is sending the message back where it came from. Send this report to your email admin.",
  },
  '5.3.4': {
    cause: "The message is larger than {domain}'s mail server allows.",
    fix: 'Make the message smaller (remove or compress attachments, or share them as links) and send it again.',
  },
  '5.2.2': {
    cause: "{rcpt}'s mailbox is full.",
    fix: 'Send the message again later, or contact the recipient some other way.',
  },
  '4.2.2': {
    cause: "{rcpt}'s mailbox is full. We will keep trying.",
    fix: 'No action is needed now; if the message is eventually returned, contact the recipient some other way.',
  },
  '5.7.1': {
    cause: "The receiving server didn't accept the message: the sender isn't allowed to send to {rcpt}, or relaying through it isn't permitted.",
    fix: "If you believe you should be able to send to this recipient, ask the recipient's email admin to allow your address or domain.",
  },
  '5.7.64': {
    cause: 'The message was refused because it arrived from a server the organization does not recognize as its own (relay access denied).',
    fix: "An email admin must check the inbound connector: the on-premises server's IP address or certificate must match it.",
  },
  '5.7.51': {
    cause: "{domain} only accepts mail that arrives through its own email gateway, and this message didn't.",
    fix: "An email admin should check the domain's MX records and the connector that restricts inbound mail to the gateway.",
  },
  '5.6.7': {
    cause: "The address {rcpt} contains international characters, and the receiving server doesn't support them.",
    fix: 'Use an ASCII-only address for this recipient.',
  },
  '4.7.320': {
    cause: "The mail server for {domain} presented a TLS certificate that couldn't be validated. We will keep trying.",
    fix: "The recipient's email admin should check the server's certificate (name, chain and expiry).",
  },
};

const BY_SUBJECT: Record<string, StatusText> = {
  '1': { cause: 'There is a problem with the address {rcpt}.', fix: 'Check the address and send the message again.' },
  '2': { cause: "There is a problem with {rcpt}'s mailbox.", fix: 'Contact the recipient some other way.' },
  '3': { cause: "The receiving mail system for {domain} couldn't handle the message.", fix: 'Try again later; if it keeps failing, send this report to your email admin.' },
  '4': { cause: "The message couldn't be routed or transferred to {domain}.", fix: "If it keeps failing, ask the recipient's email admin to check their mail servers and DNS." },
  '5': { cause: 'The mail servers had a protocol problem while transferring the message.', fix: 'Send this report to your email admin.' },
  '6': { cause: "The message content couldn't be accepted by the receiving system.", fix: 'Check the message format and attachments and send it again.' },
  '7': {
    cause: "The message was refused for a security or policy reason by the receiving system for {domain}.",
    fix: "If you believe the message should be accepted, contact the recipient's email admin with the details below.",
  },
};

export function statusText(status: string): StatusText {
  const exact = EXACT[status];
  if (exact) return exact;
  const m = /^([245])\.(\d{1,3})\.\d{1,3}$/.exec(status);
  return (m && BY_SUBJECT[m[2]!]) || { cause: "The message couldn't be delivered to {rcpt}.", fix: 'Send this report to your email admin.' };
}

/** Fills `{rcpt}`, `{local}` and `{domain}` from an address. */
export function fillStatusText(text: string, recipient: string): string {
  const at = recipient.lastIndexOf('@');
  const domain = at >= 0 ? recipient.slice(at + 1) : recipient;
  const local = at >= 0 ? recipient.slice(0, at) : recipient;
  return text.replaceAll('{rcpt}', recipient).replaceAll('{local}', local).replaceAll('{domain}', domain);
}
