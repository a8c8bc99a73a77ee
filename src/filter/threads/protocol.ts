// What crosses between a role's event loop and its filter threads: plain data only (structured
// clone). The resolver and the scanners are built inside the thread from the settings.
import type { AuthInput, AuthResults } from '../authenticate.js';
import type { InboundFilterInput, InboundFilterOutcome } from '../pipeline.js';

/** How a thread builds its resolver: the role's DNS settings (an injected resolver cannot cross). */
export interface ThreadDns {
  servers: string[];
  timeoutMs: number;
  cacheMs: number;
}

export type FilterRequest = Omit<InboundFilterInput, 'resolver' | 'scanners'>;
export type AuthRequest = Omit<AuthInput, 'resolver'>;

export type Request = { id: number; op: 'filter'; input: FilterRequest } | { id: number; op: 'auth'; input: AuthRequest };

export type Response =
  | { id: number; ok: true; op: 'filter'; result: InboundFilterOutcome }
  | { id: number; ok: true; op: 'auth'; result: AuthResults }
  | { id: number; ok: false; error: string };

export { asBuffer } from '../../util/as-buffer.js';
