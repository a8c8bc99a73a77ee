// Measures durable enqueues per second with group commit (not a test; run by hand):
//   node dist/test/queue/bench/enqueue-bench.js [--concurrency 20] [--count 4000] [--size 5120] [--inline BYTES]
// Prints one JSON line: msg/s, latency percentiles, commits and fsync rounds per message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteQueue } from '../../../src/queue/sqlite-store.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const concurrency = arg('concurrency', 20);
  const count = arg('count', 4000);
  const size = arg('size', 5 * 1024);
  const inline = process.argv.includes('--inline') ? arg('inline', 0) : undefined;
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'mailflow-bench-'));
  const store = openSqliteQueue({ dir, inlineBodyMaxBytes: inline });
  const body = Buffer.alloc(size, 'x');
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        await store.enqueue({ messageId: `bench-${i}@x`, sender: 'a@contoso.com', recipients: ['b@fabrikam.com'], body, meta: {} });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const s = store.stats();
  // Second phase: lease and complete every row, as delivery workers would (outcomes are not fsynced).
  const t1 = process.hrtime.bigint();
  let done = 0;
  for (let jobs = store.claimDue(Date.now(), 100, 60_000); jobs.length > 0; jobs = store.claimDue(Date.now(), 100, 60_000)) {
    for (const j of jobs) store.markDelivered(j.row.id, { code: 250, enhanced: '2.0.0', text: 'OK' }, Date.now());
    done += jobs.length;
  }
  const outcomesPerSec = Math.round(done / (Number(process.hrtime.bigint() - t1) / 1e9));
  store.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);
  console.log(
    JSON.stringify({
      concurrency,
      count,
      size,
      inlineBodyMaxBytes: inline ?? 'default',
      msgPerSec: Math.round(count / seconds),
      p50ms: pct(0.5),
      p99ms: pct(0.99),
      commits: s.commits,
      fsyncBatchesPerMsg: +(s.fsyncBatches / count).toFixed(3),
      fileFsyncs: s.fileFsyncs,
      dirFsyncs: s.dirFsyncs,
      largestBatch: s.largestBatch,
      claimAndDeliverPerSec: outcomesPerSec,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
