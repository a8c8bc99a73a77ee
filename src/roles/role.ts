// A running role: its SMTP listener, durable queue, trace store, mailboxes and delivery workers,
// composed from config. Roles talk to each other only over SMTP, as the real systems do.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { parseEndpoint } from '../config/schema.js';
import type { Resolver } from '../dns/types.js';
import { DEFAULT_LEASE_MS, startDeliveryWorker, type DeliveryWorker } from '../delivery/worker.js';
import { openMaildirStore } from '../mailbox/maildir.js';
import type { MailboxStore } from '../mailbox/types.js';
import { openSqliteQueue } from '../queue/sqlite-store.js';
import { INLINE_SYNC_MAX_SESSIONS } from '../queue/wal-sync.js';
import type { QueueStore } from '../queue/types.js';
import type { InboundServer } from '../smtp/inbound/types.js';
import { createSmtpSender } from '../smtp/outbound/client.js';
import { sharedThreadedSender } from '../smtp/outbound/threads/threaded-sender.js';
import { openThreadedTraceStore } from '../trace/threaded-trace.js';
import type { TraceStore } from '../trace/types.js';
import { roleConfig, roleDataDir } from './names.js';
import { tlsMaterialFor } from './tls-material.js';
import { loadDkimKeys } from './dkim-keys.js';
import { roleFilterThreads, roleResolver } from './role-resolver.js';
import { createThreadedListener, openSessions } from './session-thread/listener.js';

export interface RoleOptions {
  resolver?: Resolver;
  clock?: () => number;
  logger?: Logger;
  /** Longest pause between queue scans (tests shorten it). */
  maxIdleMs?: number;
  /**
   * Start delivering at once (default). `start` passes false and calls `startDelivery` once every role
   * of the process listens, so a restart does not defer its own backlog against a peer not yet up.
   */
  deliver?: boolean;
}

export interface RunningRole {
  name: string;
  address: { host: string; port: number };
  dataDir: string;
  queue: QueueStore;
  trace: TraceStore;
  mailboxes: MailboxStore;
  /** Undefined until delivery starts. */
  worker: DeliveryWorker | undefined;
  server: InboundServer;
  startDelivery(): void;
  /** Graceful: stop accepting, let sessions and deliveries in flight finish, keep the queue. */
  stop(graceMs?: number): Promise<void>;
}

// While few sessions are open, a commit on this loop fdatasyncs here (wal-sync.ts): this loop serves none.
const fewSessionsOpen = () => openSessions() <= INLINE_SYNC_MAX_SESSIONS;

/** `syncInline`: asked per batch whether the queue's fdatasync runs on this loop (see wal-sync.ts). */
export function roleStores(loaded: LoadedConfig, role: string, clock: () => number = Date.now, syncInline?: () => boolean) {
  const dataDir = roleDataDir(loaded.config, loaded.baseDir, role);
  mkdirSync(dataDir, { recursive: true });
  return {
    dataDir,
    // Fresh mail goes from the commit straight to this process's workers (see HANDOFF in sqlite-store.ts).
    queue: openSqliteQueue({ dir: join(dataDir, 'queue'), clock, handoff: { leaseMs: DEFAULT_LEASE_MS }, syncInline }),
    // inserted by the process's trace writer thread, off the event loop that serves SMTP
    trace: openThreadedTraceStore(join(dataDir, 'trace.db')),
    mailboxes: openMaildirStore(join(dataDir, 'mailboxes')),
  };
}

export async function startRole(loaded: LoadedConfig, role: string, opts: RoleOptions = {}): Promise<RunningRole> {
  const { config, baseDir } = loaded;
  const r = roleConfig(config, role);
  const clock = opts.clock ?? Date.now;
  const listen = parseEndpoint(r.listen)!;
  const tls = await tlsMaterialFor(config, baseDir, role);
  const resolver = opts.resolver ?? roleResolver(config);
  // Sessions, policy and filters run on the process's session thread, which builds its DNS from the
  // config. A resolver or clock handed in (tests) cannot cross into a thread: then they run on this
  // loop, and large messages go to filter threads (DNS from the config too) only without a resolver.
  const sessionThread = config.inbound.sessionThread && !opts.resolver && !opts.clock;
  // With no session on this loop, it may wait for the queue's fdatasync itself while few are open.
  const { dataDir, queue, trace, mailboxes } = roleStores(loaded, role, clock, sessionThread ? fewSessionsOpen : undefined);
  const senderOpts = { logger: opts.logger, maxPerHost: config.queue.connectionsPerHost };
  const sender = config.queue.clientThread ? sharedThreadedSender(senderOpts) : createSmtpSender(senderOpts);
  // With the session thread this loop never serves SMTP or filters: it does not load those modules
  // (smtp-server, mailauth's verifiers, the scanners), ~5 MB of the process's memory.
  const inLoop = sessionThread ? undefined : await loadInLoopSessions();
  const filter = inLoop?.createFilterStage({ config, baseDir, role, hostname: r.hostname, dataDir, resolver, threads: opts.resolver ? undefined : roleFilterThreads(config, role) });
  const dkimKeys = loadDkimKeys(config, baseDir, role);
  // Send from the address we listen on, so peers (and the hub's connectors) see who we are.
  const localAddress = isIP(listen.host) && listen.host !== '0.0.0.0' && listen.host !== '::' ? listen.host : undefined;
  let worker: DeliveryWorker | undefined;
  const kick = () => worker?.kick();
  const startDelivery = () => {
    worker ??= startDeliveryWorker({
    config,
    role,
    hostname: r.hostname,
    queue,
    trace,
    mailboxes,
    sender,
    resolver,
    clock,
    tls,
    localAddress,
    logger: opts.logger,
    concurrency: config.queue.concurrency,
    maxIdleMs: opts.maxIdleMs,
    onQueued: kick,
    dkimKeys,
    });
  };
  const server = inLoop
    ? inLoop.createInboundServer({
        hostname: r.hostname,
        host: listen.host,
        port: listen.port,
        tls: { key: tls.key, cert: tls.cert, ca: tls.ca },
        requestClientCert: true,
        limits: config.limits,
        greetingDelay: r.greetingDelay,
        role,
        logger: opts.logger,
        policy: inLoop.createRolePolicy({ config, role, hostname: r.hostname, queue, trace, clock, onQueued: kick, filter }),
      })
    : createThreadedListener({
        listener: { role, hostname: r.hostname, config, baseDir, dataDir, host: listen.host, port: listen.port, tls: { key: tls.key, cert: tls.cert, ca: tls.ca }, greetingDelay: r.greetingDelay, logLevel: opts.logger?.level },
        queue,
        trace,
        onQueued: kick,
        logger: opts.logger,
      });
  let address: { host: string; port: number };
  try {
    address = await server.listen();
  } catch (err) {
    await sender.close();
    queue.close();
    trace.close();
    filter?.close();
    throw new Error(`${role}: cannot listen on ${r.listen}: ${(err as Error).message}`);
  }
  if (opts.deliver !== false) startDelivery();
  return {
    name: role,
    address,
    dataDir,
    queue,
    trace,
    mailboxes,
    get worker() {
      return worker;
    },
    server,
    startDelivery,
    async stop(graceMs = 10_000) {
      await server.close(graceMs);
      await worker?.stop(graceMs);
      await sender.close();
      queue.close();
      trace.close();
      filter?.close();
    },
  };
}

/** What serving sessions on the role's own event loop takes (inbound.sessionThread off, or tests). */
async function loadInLoopSessions() {
  const [{ createInboundServer }, { createRolePolicy }, { createFilterStage }] = await Promise.all([
    import('../smtp/inbound/server.js'),
    import('./policy.js'),
    import('./filtering.js'),
  ]);
  return { createInboundServer, createRolePolicy, createFilterStage };
}
