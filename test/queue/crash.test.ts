// kill -9 while enqueues are in flight: every id the child printed (its enqueue had resolved) must be
// found after reopening, with the exact body. Three rounds on the same directory, so recovery also runs
// over the leftovers of earlier crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openSqliteQueue } from '../../src/queue/sqlite-store.js';
import { makeBody } from './fixtures/bodies.js';
import { tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));

interface Printed {
  queueId: string;
  i: number;
}

function runAndKill(dir: string, first: number, killAfter: number, timeLimitMs: number, inline: boolean): Promise<Printed[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(first), ...(inline ? ['inline'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const printed: Printed[] = [];
    let buffered = '';
    let stderr = '';
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(kill, timeLimitMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a partial line was not fully printed: not counted
      for (const line of lines) {
        const [queueId, i] = line.split(' ');
        printed.push({ queueId: queueId!, i: Number(i) });
      }
      if (printed.length >= killAfter) kill();
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      else resolve(printed);
    });
  });
}

test('after kill -9 during enqueues, every acknowledged message is present with its body', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'mailflow-crash-');
  const all: Printed[] = [];
  for (const [round, killAfter] of [200, 230, 170].entries()) {
    // The middle round fdatasyncs on the child's event loop (syncInline), the others on the thread pool.
    const printed = await runAndKill(dir, round * 100_000, killAfter, 30_000, round === 1);
    assert.ok(printed.length > 0, `round ${round}: the child acknowledged some messages before the time bound`);
    all.push(...printed);

    const store = openSqliteQueue({ dir });
    try {
      assert.deepEqual(store.recovery?.missingBodies, [], 'no committed row lost its body');
      let lost = 0;
      for (const { queueId, i } of all) {
        const rows = store.list({ queueId });
        if (rows.length !== 2) {
          lost++;
          continue;
        }
        assert.equal(rows[0]!.message.messageId, `crash-${i}@test`);
        assert.deepEqual(rows.map((r) => r.recipient).sort(), [`r${i}@fabrikam.com`, `s${i}@fabrikam.com`]);
        assert.ok(store.readBody(queueId).equals(makeBody(i)), `body of ${queueId} (#${i}) is intact`);
      }
      assert.equal(lost, 0, `round ${round}: acknowledged messages lost`);
      // Whatever committed without being printed is complete too: every message has its body.
      for (const row of store.list({ limit: 100_000 })) assert.ok(store.readBody(row.queueId).length > 0);
    } finally {
      store.close();
    }
  }
  assert.ok(all.length >= 3);
});
