// The paths of the seeds the demo sends a real message along, and what each must end in.

export type Expectation =
  | { kind: 'mailbox'; role: string; address: string; folder?: string }
  | { kind: 'internet'; address: string }
  | { kind: 'rejected'; code: string }
  /** Held at `role`, then released by the operator's tool and delivered to the mailbox. */
  | { kind: 'released'; role: string; mailboxRole: string; address: string };

export interface DemoPath {
  name: string;
  /** Which topology (hybrid demo or scenario 2). */
  topology: 'hybrid' | 'scenario2';
  from: string;
  to: string;
  /** Where the sender's client connects: a role (submission from 127.0.0.1), or 'internet' (from the stand-in's address, via MX or straight at the hub). */
  entry: { kind: 'mx' } | { kind: 'submit'; role: string } | { kind: 'direct'; role: string };
  expect: Expectation;
  /** What the seed says about this path, printed beside it. */
  why: string;
  /** Source address override (a host not in the sender domain's SPF: a forger). */
  local?: string;
  /** Header overrides (null removes the header) and the body text. */
  headers?: Record<string, string | null>;
  body?: string;
  /** Only when clamd is installed (the demo starts its own with an EICAR-only database). */
  needsClamd?: boolean;
}

// The EICAR anti-virus test file, as base64 so the string itself never sits in the code.
export const EICAR_B64 = 'WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=';

export const DEMO_PATHS: DemoPath[] = [
  { name: 'internet → cloud mailbox', topology: 'hybrid', from: 'sender@fabrikam.test', to: 'alice@contoso.test', entry: { kind: 'mx' }, expect: { kind: 'mailbox', role: 'hub', address: 'alice@contoso.test' }, why: 'MX points at the gateway, which filters and relays to the hub' },
  { name: 'internet → on-prem mailbox', topology: 'hybrid', from: 'sender@fabrikam.test', to: 'bob@contoso.test', entry: { kind: 'mx' }, expect: { kind: 'mailbox', role: 'onprem', address: 'bob@contoso.test' }, why: 'the hub hands on-prem recipients to the on-premises connector' },
  { name: 'on-prem → internet', topology: 'hybrid', from: 'bob@contoso.test', to: 'partner@fabrikam.test', entry: { kind: 'submit', role: 'onprem' }, expect: { kind: 'internet', address: 'partner@fabrikam.test' }, why: 'on-prem sends through the hub, straight to the internet (on-prem IPs never face block lists)' },
  { name: 'cloud → internet', topology: 'hybrid', from: 'alice@contoso.test', to: 'partner@fabrikam.test', entry: { kind: 'submit', role: 'hub' }, expect: { kind: 'internet', address: 'partner@fabrikam.test' }, why: 'scenario 1: the hub delivers by MX, bypassing the gateway' },
  { name: 'on-prem → cloud', topology: 'hybrid', from: 'bob@contoso.test', to: 'carol@contoso.test', entry: { kind: 'submit', role: 'onprem' }, expect: { kind: 'mailbox', role: 'hub', address: 'carol@contoso.test' }, why: 'on-prem relays to the hub over its on-premises connector' },
  { name: 'cloud → on-prem', topology: 'hybrid', from: 'alice@contoso.test', to: 'dave@contoso.test', entry: { kind: 'submit', role: 'hub' }, expect: { kind: 'mailbox', role: 'onprem', address: 'dave@contoso.test' }, why: 'the hub routes on-prem mailboxes over the outbound connector' },
  { name: 'unknown recipient (rejected)', topology: 'hybrid', from: 'sender@fabrikam.test', to: 'nobody@contoso.test', entry: { kind: 'mx' }, expect: { kind: 'rejected', code: '5.1.10' }, why: 'refused at RCPT time: no accept-then-bounce backscatter' },
  { name: 'direct to hub, bypassing the gateway (rejected)', topology: 'hybrid', from: 'spoofer@fabrikam.test', to: 'alice@contoso.test', entry: { kind: 'direct', role: 'hub' }, expect: { kind: 'rejected', code: '5.7.51' }, why: 'the hub is locked to the gateway by its restricted partner connector' },
  { name: 'forged internal sender (quarantined by DMARC, then released)', topology: 'hybrid', from: 'ceo@contoso.test', to: 'alice@contoso.test', entry: { kind: 'mx' }, local: '127.0.0.6', expect: { kind: 'released', role: 'gateway', mailboxRole: 'hub', address: 'alice@contoso.test' }, why: 'SPF fails for a host the domain never authorised; contoso.test publishes p=quarantine; an operator releases it' },
  { name: 'DMARC p=reject domain spoofed (rejected)', topology: 'hybrid', from: 'billing@fabrikam.test', to: 'carol@contoso.test', entry: { kind: 'mx' }, local: '127.0.0.6', expect: { kind: 'rejected', code: '5.7.509' }, why: 'fabrikam.test publishes p=reject: refused at DATA, no backscatter' },
  { name: 'spam sample (Junk folder)', topology: 'hybrid', from: 'promo@fabrikam.test', to: 'alice@contoso.test', entry: { kind: 'mx' }, headers: { Subject: 'YOU HAVE WON A PRIZE CLAIM NOW', Date: null, From: '<winner@prizes.example>' }, expect: { kind: 'mailbox', role: 'hub', address: 'alice@contoso.test', folder: 'Junk' }, why: 'the gateway scores it junk; the hub trusts that verdict over the locked partner connector' },
  { name: 'EICAR attachment (malware rejected)', topology: 'hybrid', from: 'sender@fabrikam.test', to: 'alice@contoso.test', entry: { kind: 'mx' }, needsClamd: true, body: 'EICAR', expect: { kind: 'rejected', code: '5.7.1' }, why: 'clamd finds the test virus at the gateway: malware is never delivered' },
  { name: 'scenario 2: internet → cloud via the archiving service', topology: 'scenario2', from: 'sender@fabrikam.test', to: 'erin@archive.contoso.test', entry: { kind: 'mx' }, expect: { kind: 'mailbox', role: 'hub', address: 'erin@archive.contoso.test' }, why: 'the service does not filter; the hub needs Enhanced Filtering to see the real sender' },
  { name: 'scenario 2: cloud → internet via the archiving service', topology: 'scenario2', from: 'erin@archive.contoso.test', to: 'partner@fabrikam.test', entry: { kind: 'submit', role: 'hub' }, expect: { kind: 'internet', address: 'partner@fabrikam.test' }, why: 'outbound also passes through the service (hub → gateway → internet)' },
];
