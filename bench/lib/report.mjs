// The markdown table and the ratio lines.

export const SCENARIO_LABEL = {
  hop1: '1 hop → sink',
  hop3: '3 hops → sink',
  maildir: '3 hops → Maildir',
};

const f = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(d));
const mb = (b) => (b ? (b / 1024 / 1024).toFixed(0) : 'n/a');

function label(r) {
  const g = r.greetingDelayMs ? `, greeting ${r.greetingDelayMs} ms` : '';
  const f = r.filtering === false ? ', filters off' : '';
  return `${SCENARIO_LABEL[r.scenario] ?? r.scenario}${f}${g}`;
}

/** The Postfix run a mailflow run is compared with: same scenario and sessions. */
export function baselineFor(results, r) {
  return results.find((x) => x.side === 'postfix' && x.scenario === r.scenario && x.sessions === r.sessions && x.ok);
}

export function ratio(results, r, field) {
  const b = baselineFor(results, r);
  return b && r[field] && b[field] ? r[field] / b[field] : null;
}

export function table(results) {
  const rows = [
    '| scenario | sessions | side | N | ingest msg/s | end-to-end msg/s | dot→250 p50 / p99 ms | peak memory MB* | CPU ms/msg† | lost | sink conns | ingest × | end-to-end × |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const mf = r.side === 'mailflow';
    const ri = mf ? ratio(results, r, 'ingestRate') : null;
    const re = mf ? ratio(results, r, 'e2eRate') : null;
    rows.push(
      `| ${label(r)} | ${r.sessions} | ${r.side} | ${r.n} | ${f(r.ingestRate)} | ${f(r.e2eRate)} | ${f(r.latency?.p50, 1)} / ${f(r.latency?.p99, 1)} | ${mb(r.peakRss)} | ${f(r.cpuMsPerMsg, 2)}${r.machineBusy === undefined ? '' : ` (${f(r.machineBusy * 100)} %)`} | ${r.ok ? r.lost : `${r.lost} (run failed: ${r.error ?? '?'})`} | ${r.sinkSessions ?? '–'} | ${ri === null ? '' : ri.toFixed(2)} | ${re === null ? '' : `**${re.toFixed(2)}**`} |`,
    );
  }
  return rows.join('\n');
}

/** `ratio <scenario> <x.xx>`: end-to-end mailflow / Postfix at 20 sessions (or the most sessions run). */
export function ratioLines(results) {
  const lines = [];
  const mfs = results.filter((r) => r.side === 'mailflow');
  const maxSessions = Math.max(...results.map((r) => r.sessions));
  const keys = [...new Set(mfs.map((r) => `${r.scenario}|${r.greetingDelayMs}|${r.filtering !== false}`))];
  for (const k of keys) {
    const [scenario, g, filt] = k.split('|');
    const r = mfs.find((x) => x.scenario === scenario && String(x.greetingDelayMs) === g && String(x.filtering !== false) === filt && x.sessions === maxSessions);
    if (!r) continue;
    const x = ratio(results, r, 'e2eRate');
    const name = `${scenario}${filt === 'false' ? '-filters-off' : ''}${Number(g) ? `-greeting${g}ms` : ''}`;
    lines.push(`ratio ${name} ${x === null ? 'n/a' : x.toFixed(2)}`);
  }
  return lines;
}
