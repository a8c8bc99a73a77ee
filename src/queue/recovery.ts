// What opening a queue does before it serves anyone: reconcile the spool directory with the committed
// rows after whatever happened to the previous process (kill -9, power loss, a full disk).
//  - temporaries and body files whose rows never committed are removed (their enqueue never resolved);
//  - bodies of messages whose recipients are all final are removed (crash between commit and unlink);
//  - a committed message whose body file is missing is never dropped: its open rows are held with a
//    reply that says why, and the queue id is reported;
//  - final rows older than the history window are pruned.
import type Database from 'better-sqlite3';
import type { Spool } from './spool.js';
import { FINAL_SQL, replyJson } from './sqlite-schema.js';

export interface RecoveryReport {
  epoch: number;
  tempFilesRemoved: number;
  orphanBodiesRemoved: number;
  /** Messages whose body file was missing; their open rows are now `held`. */
  missingBodies: string[];
  prunedRows: number;
  prunedMessages: number;
  /** Files in the spool that are not ours; left alone. */
  strangers: string[];
}

export const MISSING_BODY_REPLY = {
  code: 451,
  enhanced: '4.3.0',
  text: 'Queued message body is missing from the spool; held for the operator',
} as const;

export function recover(db: Database.Database, spool: Spool, epoch: number, now: number, keepFinalMs: number): RecoveryReport {
  const scan = spool.scan();
  const report: RecoveryReport = {
    epoch,
    tempFilesRemoved: 0,
    orphanBodiesRemoved: 0,
    missingBodies: [],
    prunedRows: 0,
    prunedMessages: 0,
    strangers: scan.strangers,
  };
  for (const name of scan.temps) {
    spool.removeTemp(name);
    report.tempFilesRemoved++;
  }

  const fileMessages = db.prepare(`SELECT queue_id FROM messages WHERE body_where = 'file'`).pluck().all() as string[];
  const wanted = new Set(fileMessages);
  for (const queueId of scan.bodies) {
    if (!wanted.has(queueId)) {
      spool.remove(queueId);
      report.orphanBodiesRemoved++;
    }
  }

  const openCount = db.prepare(`SELECT COUNT(*) FROM recipients WHERE queue_id = ? AND status NOT IN ${FINAL_SQL}`).pluck();
  const setWhere = db.prepare(`UPDATE messages SET body_where = ? WHERE queue_id = ?`);
  const hold = db.prepare(`UPDATE recipients SET status = 'held', last_reply = ?, lease_until = 0 WHERE queue_id = ? AND status NOT IN ${FINAL_SQL}`);
  db.transaction(() => {
    for (const queueId of fileMessages) {
      if (scan.bodies.has(queueId)) continue;
      if ((openCount.get(queueId) as number) > 0) {
        setWhere.run('missing', queueId);
        hold.run(replyJson(MISSING_BODY_REPLY), queueId);
        report.missingBodies.push(queueId);
      } else {
        setWhere.run('gone', queueId);
      }
    }
    // Bodies (inline or file) of messages with nothing left to deliver.
    const finished = db
      .prepare(
        `SELECT m.queue_id, m.body_where FROM messages m WHERE m.body_where IN ('file','inline')
         AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.queue_id = m.queue_id AND r.status NOT IN ${FINAL_SQL})`,
      )
      .all() as { queue_id: string; body_where: string }[];
    for (const m of finished) {
      if (m.body_where === 'file') {
        spool.remove(m.queue_id);
        report.orphanBodiesRemoved++;
      }
      db.prepare(`DELETE FROM bodies WHERE queue_id = ?`).run(m.queue_id);
      setWhere.run('gone', m.queue_id);
    }
    report.prunedRows = db.prepare(`DELETE FROM recipients WHERE status IN ${FINAL_SQL} AND next_attempt_at < ?`).run(now - keepFinalMs).changes;
    report.prunedMessages = db
      .prepare(`DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.queue_id = messages.queue_id)`)
      .run().changes;
    db.prepare(`DELETE FROM bodies WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.queue_id = bodies.queue_id)`).run();
  })();
  if (report.tempFilesRemoved + report.orphanBodiesRemoved > 0) spool.syncDir();
  return report;
}
