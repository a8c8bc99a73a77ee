// Text rendering of trace events: one line per event with time, role, event, recipient, where it came
// from or went (connector / host), the SMTP reply and the reason. Events of several messages are
// grouped under a "Message-ID" heading each, in order of first appearance.
import type { TraceEvent } from './types.js';

export interface FormatOptions {
  /** Show times as UTC ISO (default) or in local time. */
  localTime?: boolean;
}

export function formatTrace(events: readonly TraceEvent[], opts: FormatOptions = {}): string {
  if (events.length === 0) return '';
  const groups = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const g = groups.get(e.messageId);
    if (g) g.push(e);
    else groups.set(e.messageId, [e]);
  }
  const widths = {
    role: Math.max(...events.map((e) => e.role.length)),
    type: Math.max(...events.map((e) => e.type.length)),
    rcpt: Math.min(40, Math.max(1, ...events.map((e) => (e.recipient ?? '-').length))),
    via: Math.min(48, Math.max(1, ...events.map((e) => via(e).length))),
  };
  const out: string[] = [];
  for (const [messageId, list] of groups) {
    if (groups.size > 1) out.push(`Message-ID: <${messageId}>`);
    for (const e of list) out.push(formatLine(e, widths, opts));
    if (groups.size > 1) out.push('');
  }
  return out.join('\n').replace(/\n+$/, '');
}

export function formatLine(e: TraceEvent, w: { role: number; type: number; rcpt: number; via: number }, opts: FormatOptions = {}): string {
  const cols = [
    formatTime(e.at, opts.localTime ?? false),
    e.role.padEnd(w.role),
    e.type.padEnd(w.type),
    (e.recipient ?? '-').padEnd(w.rcpt),
    via(e).padEnd(w.via),
    e.reply ?? '-',
  ];
  let line = cols.join('  ');
  if (e.reason) line += `  (${e.reason})`;
  return line.trimEnd();
}

/** `connector → host`, either part alone, or '-'. */
function via(e: TraceEvent): string {
  if (e.connector && e.host) return `${e.connector} ${arrow(e)} ${e.host}`;
  return e.connector ?? e.host ?? '-';
}

function arrow(e: TraceEvent): string {
  return e.type === 'RECEIVE' ? '<' : '>';
}

function formatTime(ms: number, local: boolean): string {
  const d = new Date(ms);
  if (!local) return d.toISOString().replace('T', ' ');
  const p = (n: number, l = 2) => String(n).padStart(l, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
