// One interface for every scanner: the built-in rules, rspamd, clamd. A scanner never throws for
// its own trouble: a daemon that is down is `unavailable`, a bad answer is `error`, and the verdict
// is made from the scanners that answered.
import type { AuthResults } from '../authenticate.js';

export interface ScanContext {
  /** The sending host: the connecting IP, or the one Enhanced Filtering recovered. */
  ip: string;
  helo: string;
  /** MAIL FROM ('' for the null reverse-path). */
  sender: string;
  recipients: string[];
  /** Authentication results when the role evaluated them. */
  auth?: AuthResults;
}

export type ScanStatus = 'ok' | 'unavailable' | 'error';

export interface ScanResult {
  scanner: string;
  status: ScanStatus;
  /** Spam score (rspamd's scale: reject at 15). Absent for scanners that only look for malware. */
  score?: number;
  /** Malware signature name when something was found. */
  malware?: string;
  /** Rules that matched, `NAME(score)`. */
  symbols?: string[];
  /** Human text: what the scanner said, or why it could not. */
  detail: string;
  /** The scanner's own recommendation (rspamd's action), for the record. */
  action?: string;
}

export interface Scanner {
  readonly name: string;
  scan(message: Buffer, ctx: ScanContext): Promise<ScanResult>;
}
