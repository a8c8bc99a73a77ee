// Planned records as text: a BIND zone-file fragment to paste into a zone, or an aligned table.
import type { PlannedRecord } from './plan.js';

export const ZONE_TTL = 3600;

/** BIND fragment: FQDNs with trailing dots, TXT as quoted strings of at most 255 bytes. */
export function formatZone(records: readonly PlannedRecord[], origin?: string): string {
  const lines = [`$TTL ${ZONE_TTL}`];
  if (origin) lines.push(`$ORIGIN ${fqdn(origin)}`);
  for (const r of records) {
    lines.push(`; ${r.purpose}`);
    lines.push(`${fqdn(r.name)}\tIN\t${r.type}\t${zoneValue(r)}`);
  }
  return lines.join('\n') + '\n';
}

function zoneValue(r: PlannedRecord): string {
  switch (r.type) {
    case 'MX': {
      const [priority, host] = r.value.split(/\s+/);
      return `${priority} ${fqdn(host ?? '')}`;
    }
    case 'CNAME':
      return fqdn(r.value);
    case 'TXT':
      return quoteTxt(r.value);
    default:
      return r.value;
  }
}

/** Split on byte boundaries that do not cut a UTF-8 sequence, then quote each piece. */
export function quoteTxt(value: string): string {
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > 255) {
      pieces.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += n;
  }
  pieces.push(current);
  return pieces.map((p) => `"${p.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(' ');
}

export function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** Aligned text table (type, name, value), each record's purpose on the line below it. */
export function formatTable(records: readonly PlannedRecord[]): string {
  const typeWidth = Math.max(4, ...records.map((r) => r.type.length));
  const nameWidth = Math.max(4, ...records.map((r) => r.name.length));
  const lines = [`${'TYPE'.padEnd(typeWidth)}  ${'NAME'.padEnd(nameWidth)}  VALUE`];
  for (const r of records) {
    lines.push(`${r.type.padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${r.value}`);
    lines.push(`${''.padEnd(typeWidth)}  # ${r.purpose}`);
  }
  return lines.join('\n') + '\n';
}
