// Measures trace inserts per second, one transaction per event versus one per event-loop turn
// (not a test; run by hand): node dist/test/trace/bench/record-bench.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceStore } from '../../../src/trace/sqlite-trace.js';

async function run(batch: boolean, count: number, perTurn: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-trace-bench-'));
  const store = openTraceStore({ file: join(dir, 'trace.db'), batch });
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    store.record({ at: i, role: 'hub', type: 'RECEIVE', messageId: `m${i % 1000}@x`, sender: 'a@contoso.com', recipient: `r${i % 50}@fabrikam.com`, reply: '250 2.6.0 Queued', data: { i } });
    // A relay records a few events per message and then yields to the event loop.
    if (i % perTurn === perTurn - 1) await new Promise((r) => setImmediate(r));
  }
  store.query({ messageId: 'm1@x', limit: 1 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return Math.round(count / seconds);
}

const count = 20_000;
for (const perTurn of [1, 5, 50]) {
  console.log(JSON.stringify({ perTurn, perEvent: await run(false, count, perTurn), batchedPerTurn: await run(true, count, perTurn) }));
}
