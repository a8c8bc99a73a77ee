// Size, recipient and queue limits against the hub's documented ranges (inventory rules 30 and 31).
import { formatBytes, formatDuration } from '../topology.js';
import { defineRule } from '../types.js';

const MB = 1024 * 1024;
const HOUR = 3_600_000;

export const limitMessageSize = defineRule(
  {
    id: 'limit-message-size',
    title: 'maxMessageSize within what the hub can carry',
    source: 'inventory rule 31 (EXO 36 MB default, custom up to 150 MB, 112 MB effective outside Microsoft)',
    severities: ['warning', 'info'],
  },
  ({ config }, emit) => {
    const size = config.limits.maxMessageSize;
    if (size > 150 * MB) {
      emit('warning', ['limits', 'maxMessageSize'], `maxMessageSize ${formatBytes(size)} is above the hub's 150 MB ceiling: the gateway would accept messages the hub then refuses, and the sender gets a late bounce instead of a 552 at SMTP time (rule 31); use 150MB or less`);
    } else if (size > 112 * MB) {
      emit('info', ['limits', 'maxMessageSize'], `maxMessageSize ${formatBytes(size)}: 150 MB holds only inside Microsoft's datacentres; mail routed outside (to on-prem or the internet) grows by about a third in encoding, so 112 MB is the effective maximum there (rule 31)`);
    }
  },
);

export const limitRecipients = defineRule(
  {
    id: 'limit-recipients',
    title: 'maxRecipients within the hub\'s organisational limit',
    source: 'inventory section 1.11 (MaxRecipientEnvelopeLimit, 1000); rule 31',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    const n = config.limits.maxRecipients;
    if (n > 1000) emit('warning', ['limits', 'maxRecipients'], `maxRecipients ${n} is above the hub's limit of 1000 recipients per message: messages the gateway accepts would be refused downstream (rule 31); use 1000 or less`);
  },
);

export const queueExpireRange = defineRule(
  {
    id: 'queue-expire-range',
    title: 'queue.expire within the hub\'s MessageExpiration range (12–24 h)',
    source: 'inventory section 1.5 (Set-TransportConfig -MessageExpiration 12–24 h); rule 30',
    severities: ['info'],
  },
  ({ config }, emit) => {
    const e = config.queue.expire;
    if (e < 12 * HOUR || e > 24 * HOUR) emit('info', ['queue', 'expire'], `queue.expire is ${formatDuration(e)}; the hub keeps undeliverable mail 12 to 24 hours (MessageExpiration), so senders will see bounces at a different time than Exchange Online users expect (rule 30)`);
  },
);

export const queueRetrySpan = defineRule(
  {
    id: 'queue-retry-span',
    title: 'The retry schedule reaches the expiry time',
    source: 'inventory section 1.5 (retried for 24 h, then NDR); rule 30',
    severities: ['info'],
  },
  ({ config }, emit) => {
    const total = config.queue.retry.reduce((a, b) => a + b, 0);
    const e = config.queue.expire;
    if (total < e) emit('info', ['queue', 'retry'], `the retry schedule spans ${formatDuration(total)} but messages expire after ${formatDuration(e)}: there are no attempts in the last ${formatDuration(e - total)}; extend the schedule (e.g. more 1h steps) or shorten queue.expire`);
  },
);

export const queueDelayWarning = defineRule(
  {
    id: 'queue-delay-warning',
    title: 'The delay warning comes before expiry',
    source: 'inventory section 1.5 (delay DSNs on by default)',
    severities: ['info'],
  },
  ({ config }, emit) => {
    const { delayWarning, expire } = config.queue;
    if (delayWarning > 0 && delayWarning >= expire) emit('info', ['queue', 'delayWarning'], `queue.delayWarning ${formatDuration(delayWarning)} is not shorter than queue.expire ${formatDuration(expire)}, so no delay notice is ever sent; use a few hours, or 0 to turn it off explicitly`);
  },
);
