// Lint findings as text: one block per finding with the record line and a caret under the span.
import type { Finding, LintReport } from './lint.js';

const WINDOW = 70;

export function formatLintReport(report: LintReport): string {
  const lines: string[] = [];
  const shown = new Set<string>();
  // grouped by record (in the order the walk met them), then left to right
  const order = Object.keys(report.records);
  const rank = (f: Finding) => order.indexOf(f.domain ?? report.domain ?? '');
  const sorted = [...report.findings].sort((a, b) => rank(a) - rank(b) || a.span.start - b.span.start);
  for (const f of sorted) {
    const key = f.domain ?? report.domain ?? '';
    const record = report.records[key] ?? '';
    if (!shown.has(key) && key) {
      shown.add(key);
      lines.push(`${key}: ${record ? JSON.stringify(record) : '(no record)'}`);
    }
    lines.push(`${f.severity.padEnd(7)} ${f.rule}: ${f.message}`);
    if (record) lines.push(...caret(record, f));
  }
  const count = (s: Finding['severity']) => report.findings.filter((f) => f.severity === s).length;
  const dns = report.domain ? `; ${report.lookups} DNS lookups (limit 10), ${report.voidLookups} void (limit 2)` : `; ${report.lookups} DNS lookups in this record`;
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  lines.push(`${n(count('error'), 'error')}, ${n(count('warning'), 'warning')}, ${n(count('info'), 'note')}${dns}`);
  return lines.join('\n') + '\n';
}

/** The record (a window of it when long) and a line of carets under the finding's span. */
export function caret(record: string, f: Pick<Finding, 'span'>): string[] {
  const start = Math.min(f.span.start, record.length);
  const end = Math.max(start + 1, Math.min(f.span.end, record.length + 1));
  let from = 0;
  let to = record.length;
  if (record.length > WINDOW * 2) {
    from = Math.max(0, start - WINDOW / 2);
    to = Math.min(record.length, Math.max(end, from + WINDOW) + WINDOW / 2);
  }
  const prefix = from > 0 ? '…' : '';
  const suffix = to < record.length ? '…' : '';
  const pad = ' '.repeat(prefix.length + start - from);
  return [`    ${prefix}${record.slice(from, to)}${suffix}`, `    ${pad}${'^'.repeat(Math.min(end, to + 1) - start)}`];
}
