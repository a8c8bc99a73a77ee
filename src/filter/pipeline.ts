// The whole inbound filter for one message, in the order a role needs it: Enhanced Filtering finds
// the sender, authentication judges it, the scanners run, the verdict decides, and the message is
// stamped (verdict header, Authentication-Results, an ARC seal on top when the role seals).
// The role maps `action` to its answer: reject → `rejectReply` at DATA; quarantine → the store;
// junk → the Junk folder; deliver → the queue as usual.
import type { Resolver } from '../dns/types.js';
import type { Reply } from '../smtp/replies.js';
import { authenticateMessage, sealArc, stampAuthResults, type ArcSealKey, type AuthResults } from './authenticate.js';
import { headerValues } from './headers.js';
import { enhancedFilteringHeader, recoverOriginalSender, type EnhancedFilteringResult, type EnhancedFilteringSettings } from './enhanced-filtering.js';
import { runScanners } from './scanners/run.js';
import type { Scanner } from './scanners/types.js';
import type { RoleFilterSettings } from './settings.js';
import { decideVerdict, stampVerdict, type Verdict, type VerdictAction } from './verdict.js';

export interface InboundFilterInput {
  message: Buffer;
  connectingIp: string;
  helo: string;
  sender: string;
  recipients: string[];
  resolver: Resolver;
  /** The role's host name: authserv-id and verdict host. */
  hostname: string;
  settings: RoleFilterSettings;
  /** The matched inbound connector's EF settings (hub); absent = off. */
  enhancedFiltering?: EnhancedFilteringSettings;
  scanners: Scanner[];
  /** Seal ARC over the stamped message (the gateway, for the hub's trusted sealers). */
  arcSeal?: ArcSealKey;
}

export interface InboundFilterOutcome {
  action: VerdictAction;
  /** The message to queue, deliver or hold: stamped. */
  message: Buffer;
  verdict: Verdict;
  auth?: AuthResults;
  ef: EnhancedFilteringResult;
  /** The 550 for `reject`. */
  rejectReply?: Reply;
  /** One line for the trace. */
  summary: string;
}

export async function filterInbound(input: InboundFilterInput): Promise<InboundFilterOutcome> {
  const ef = recoverOriginalSender({
    received: headerValues(input.message, 'Received'),
    connectingIp: input.connectingIp,
    connectingHelo: input.helo,
    settings: input.enhancedFiltering ?? { mode: 'off', skipIps: [], users: [] },
    recipients: input.recipients,
    ownHostnames: [input.hostname],
  });
  const auth = input.settings.authenticate
    ? await authenticateMessage({ message: input.message, ip: ef.originalIp, helo: ef.originalHelo, sender: input.sender, resolver: input.resolver, authservId: input.hostname, trustedArcSealers: input.settings.trustedArcSealers })
    : undefined;
  const results = await runScanners(input.scanners, input.message, { ip: ef.originalIp, helo: ef.originalHelo, sender: input.sender, recipients: input.recipients, auth }, { maxScanSize: input.settings.maxScanSize });
  const verdict = decideVerdict(results, { thresholds: input.settings.thresholds, malware: input.settings.malware, enforceDmarc: input.settings.enforceDmarc }, auth, input.hostname);

  let message = stampVerdict(input.message, verdict);
  if (auth) message = stampAuthResults(message, auth.header, input.hostname);
  const efLine = enhancedFilteringHeader(ef);
  if (efLine) message = Buffer.concat([Buffer.from(efLine, 'latin1'), message]);
  let sealNote = '';
  if (input.arcSeal && auth && verdict.action !== 'reject') {
    const s = await sealArc(message, input.arcSeal, auth);
    if (s.kind === 'sealed') message = Buffer.concat([Buffer.from(s.headers, 'latin1'), message]);
    else sealNote = `; ARC not sealed: ${s.reason}`;
  }
  const rejectReply = verdict.action === 'reject' ? rejectReplyFor(verdict, auth) : undefined;
  const summary = `${verdict.action} (score ${verdict.score}${verdict.malware ? `, malware ${verdict.malware}` : ''}): ${verdict.reasons.join('; ')}${auth ? `; ${auth.summary}` : ''}; ${ef.reason}${sealNote}`;
  return { action: verdict.action, message, verdict, ...(auth ? { auth } : {}), ef, ...(rejectReply ? { rejectReply } : {}), summary };
}

/** EXO-like texts: 5.7.509 for DMARC reject, 5.7.1 for spam and malware. */
export function rejectReplyFor(verdict: Verdict, auth?: AuthResults): Reply {
  if (verdict.malware) return { code: 550, enhanced: '5.7.1', text: `Message rejected: malware detected (${verdict.malware})` };
  if (auth && auth.dmarc.result === 'fail' && auth.dmarc.policy === 'reject' && verdict.reasons[0]?.startsWith('DMARC')) {
    return { code: 550, enhanced: '5.7.509', text: `Access denied, sending domain ${auth.dmarc.domain} does not pass DMARC verification and has a DMARC policy of reject` };
  }
  return { code: 550, enhanced: '5.7.1', text: `Message rejected as spam (score ${verdict.score})` };
}
