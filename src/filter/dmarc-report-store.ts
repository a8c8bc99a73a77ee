// The data a DMARC aggregate report (RFC 7489 appendix C, "feedback") is made of: per day, header
// From domain, source IP, SPF/DKIM/DMARC results and the disposition we applied, a message count.
// Recorded by the role that evaluates DMARC; a report is produced from `summary` later.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuthResults } from './authenticate.js';

export type Disposition = 'none' | 'quarantine' | 'reject';

export interface DmarcRecord {
  headerFrom: string;
  sourceIp: string;
  spf: string;
  dkim: string;
  dmarc: string;
  disposition: Disposition;
  /** Domains the report lists as the identifiers checked. */
  spfDomain?: string;
  dkimDomain?: string;
}

export interface DmarcRow extends Required<DmarcRecord> {
  count: number;
}

export interface DmarcSummary {
  domain: string;
  day: string;
  total: number;
  /** Messages that passed DMARC / failed it. */
  pass: number;
  fail: number;
  rows: DmarcRow[];
}

export interface DmarcReportStore {
  record(r: DmarcRecord, at?: number): void;
  /** Shortcut: the row for one evaluated message. Messages without a DMARC evaluation are not recorded. */
  recordAuth(auth: AuthResults, disposition: Disposition, at?: number): boolean;
  summary(domain: string, day: string): DmarcSummary;
  /** Header From domains with data on a day. */
  domains(day: string): string[];
  close(): void;
}

const DAY_MS = 86_400_000;
/** The last day computed: every message of a day asks for the same one (toISOString showed in the profile). */
let lastDay = { start: NaN, text: '' };

/** `YYYY-MM-DD` of a time, UTC (DMARC report periods are UTC days; a JS day is exactly DAY_MS). */
export function dayOf(at: number): string {
  if (at >= lastDay.start && at < lastDay.start + DAY_MS) return lastDay.text;
  const text = new Date(at).toISOString().slice(0, 10);
  lastDay = { start: Math.floor(at / DAY_MS) * DAY_MS, text };
  return text;
}

export function openDmarcReportStore(opts: { file: string; clock?: () => number }): DmarcReportStore {
  const clock = opts.clock ?? Date.now;
  mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS dmarc_agg (
      day TEXT NOT NULL,
      header_from TEXT NOT NULL,
      source_ip TEXT NOT NULL,
      spf TEXT NOT NULL,
      dkim TEXT NOT NULL,
      dmarc TEXT NOT NULL,
      disposition TEXT NOT NULL,
      spf_domain TEXT NOT NULL,
      dkim_domain TEXT NOT NULL,
      count INTEGER NOT NULL,
      PRIMARY KEY (day, header_from, source_ip, spf, dkim, dmarc, disposition, spf_domain, dkim_domain)
    );
  `);
  const select = db.prepare('SELECT * FROM dmarc_agg WHERE header_from = ? AND day = ? ORDER BY count DESC, source_ip');

  // Counts are summed in memory and written once a second in one transaction (synchronous=NORMAL):
  // an upsert and a WAL fsync per message cost more than the rest of the DMARC evaluation. A crash
  // can lose up to a second of report counts (reports are statistics), never mail.
  db.pragma('synchronous = NORMAL');
  const pending = new Map<string, { row: Record<string, string>; count: number }>();
  let timer: NodeJS.Timeout | null = null;
  const addCount = db.prepare(`
    INSERT INTO dmarc_agg (day, header_from, source_ip, spf, dkim, dmarc, disposition, spf_domain, dkim_domain, count)
    VALUES (@day, @headerFrom, @sourceIp, @spf, @dkim, @dmarc, @disposition, @spfDomain, @dkimDomain, @count)
    ON CONFLICT DO UPDATE SET count = count + excluded.count
  `);
  const writeAll = db.transaction((rows: { row: Record<string, string>; count: number }[]) => {
    for (const r of rows) addCount.run({ ...r.row, count: r.count });
  });
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size === 0 || !db.open) return;
    const rows = [...pending.values()];
    pending.clear();
    writeAll(rows);
  };
  const record = (r: DmarcRecord, at = clock()) => {
    const row = {
      day: dayOf(at),
      headerFrom: r.headerFrom.toLowerCase(),
      sourceIp: r.sourceIp,
      spf: r.spf,
      dkim: r.dkim,
      dmarc: r.dmarc,
      disposition: r.disposition,
      spfDomain: (r.spfDomain ?? '').toLowerCase(),
      dkimDomain: (r.dkimDomain ?? '').toLowerCase(),
    };
    const key = Object.values(row).join('\u0000');
    const p = pending.get(key);
    if (p) p.count++;
    else pending.set(key, { row, count: 1 });
    if (!timer) {
      timer = setTimeout(flush, 1000);
      timer.unref();
    }
  };
  return {
    record,
    recordAuth(auth, disposition, at) {
      if (!auth.dmarc.domain || auth.dmarc.skipReason) return false;
      const dkimSig = auth.dkim.signatures.find((s) => s.result === 'pass') ?? auth.dkim.signatures[0];
      record({ headerFrom: auth.dmarc.domain, sourceIp: auth.spf.ip, spf: auth.spf.result, dkim: auth.dkim.result, dmarc: auth.dmarc.result, disposition, spfDomain: auth.spf.domain, dkimDomain: dkimSig?.domain ?? '' }, at);
      return true;
    },
    summary(domain, day) {
      flush();
      const rows = (select.all(domain.toLowerCase(), day) as Record<string, string | number>[]).map(
        (r): DmarcRow => ({
          headerFrom: String(r.header_from),
          sourceIp: String(r.source_ip),
          spf: String(r.spf),
          dkim: String(r.dkim),
          dmarc: String(r.dmarc),
          disposition: r.disposition as Disposition,
          spfDomain: String(r.spf_domain),
          dkimDomain: String(r.dkim_domain),
          count: Number(r.count),
        }),
      );
      const total = rows.reduce((s, r) => s + r.count, 0);
      const pass = rows.filter((r) => r.dmarc === 'pass').reduce((s, r) => s + r.count, 0);
      return { domain: domain.toLowerCase(), day, total, pass, fail: total - pass, rows };
    },
    domains(day) {
      flush();
      return (db.prepare('SELECT DISTINCT header_from FROM dmarc_agg WHERE day = ? ORDER BY header_from').all(day) as { header_from: string }[]).map((r) => r.header_from);
    },
    close() {
      flush();
      db.close();
    },
  };
}
