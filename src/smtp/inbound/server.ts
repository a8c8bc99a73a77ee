// The inbound SMTP listener of a role: smtp-server for the protocol, our code for the limits it leaves
// to applications, line-end hygiene, the Received header, and the policy hooks. Policy answers with
// Decision values; decisions.ts turns them into replies.
//
// Choices worth knowing:
//  - Size, line length, bare CR/LF smuggling, header size and hop count are all judged at the end of
//    DATA, after the client has been drained to its terminator (so the session stays usable); nothing
//    over the size limit or after a problem is buffered (data.ts, data-normalize.ts).
//  - MAIL FROM SIZE= over the limit is refused by smtp-server itself (552 5.3.4, its own text).
//  - An `accept` reply from onMailFrom/onRcptTo cannot change smtp-server's "250 2.1.x Accepted";
//    onMessage's can (code 250, our enhanced code and text).
//  - Policy hooks are bounded by `policyTimeout`; failures of any kind answer 451 4.3.0.

import type net from 'node:net';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { reply, type Reply } from '../replies.js';
import { checkMailParams, checkRcptParams, checkUtf8, normalizeParams } from './address.js';
import { MailflowConnection, type ConnectionControl, type ParsedAddress } from './connection.js';
import { receiveData } from './data.js';
import { decide, replyText, toSmtpError } from './decisions.js';
import { checkData, ConnectionCounter } from './limits.js';
import { libraryLogger } from './library-logger.js';
import { receivedHeader } from './received-header.js';
import { reverseLookup } from './reverse-dns.js';
import { newSessionId } from './session-id.js';
import { addressOf, envelopeOf, newSessionInfo, peerCertificateOf, refreshSessionInfo } from './session.js';
import type { InboundServer, InboundServerOptions, SessionInfo } from './types.js';

const DEFAULT_GRACE_MS = 10_000;
// RFC 5321 §4.5.3.2 has clients wait 5 min for MAIL/RCPT replies and 10 min after DATA; stay well inside.
const DEFAULT_POLICY_TIMEOUT_MS = 120_000;

type Done = (err?: Error | null) => void;

/** smtp-server with our connection class, and a hook to track each connection. */
class ListenerSMTPServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly control: ConnectionControl,
    private readonly track: (c: MailflowConnection) => void,
  ) {
    super(options);
  }

  // Upstream draws a session id with crypto.randomBytes per connection; ours come from a pool
  // (session-id.ts). A listener that expects PROXY headers keeps upstream's path.
  override _handleProxy(socket: net.Socket, callback: (err: Error | null, socketOptions?: SMTPConnectionOptions & { id: string }) => void): void {
    if (this._expectsProxyHeader(socket)) return super._handleProxy(socket, callback);
    const ignored = this.options.ignoredHosts?.includes(socket.remoteAddress ?? '') ?? false;
    const socketOptions = { id: newSessionId(), ignore: ignored };
    setImmediate(() => callback(null, socketOptions));
  }

  // Same as upstream connect(), with our connection class.
  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new MailflowConnection(this, socket, socketOptions, this.control);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    this.track(connection);
    connection.init();
  }
}

export function createInboundServer(opts: InboundServerOptions): InboundServer {
  const { limits, policy } = opts;
  const log: Logger = (opts.logger ?? pino({ level: 'silent' })).child({ role: opts.role, component: 'smtp-in' });
  const sessions = new Map<string, SessionInfo>();
  const perIp = new ConnectionCounter();
  const open = new Set<MailflowConnection>();
  let shuttingDown = false;
  let onConnectionGone: (() => void) | null = null;
  const hookTimeout = opts.policyTimeout ?? DEFAULT_POLICY_TIMEOUT_MS;

  const control: ConnectionControl = { greetingDelay: opts.greetingDelay, shuttingDown: () => shuttingDown };

  const track = (c: MailflowConnection) => {
    open.add(c);
    perIp.add(c.remoteAddress);
    opts.onConnectionCount?.(open.size);
    let gone = false;
    c.onGone = () => {
      if (gone) return;
      gone = true;
      open.delete(c);
      perIp.remove(c.remoteAddress);
      opts.onConnectionCount?.(open.size);
      onConnectionGone?.();
    };
  };

  const infoOf = (s: SMTPServerSession): SessionInfo => {
    let info = sessions.get(s.id);
    if (!info) sessions.set(s.id, (info = newSessionInfo(s)));
    return refreshSessionInfo(info, s);
  };

  const refused = (r: Reply, what: string, s: SMTPServerSession): Reply => {
    log.info({ sid: s.id, ip: s.remoteAddress, code: r.code, enhanced: r.enhanced }, `${what} refused: ${r.text}`);
    return r;
  };
  const refuse = (done: Done, r: Reply, what: string, s: SMTPServerSession) => done(toSmtpError(refused(r, what, s)));

  /** DATA: collect within the limits, check, add our Received, ask policy. Returns the final reply. */
  const receiveMessage = async (stream: Readable, session: SMTPServerSession): Promise<Reply> => {
    const info = infoOf(session);
    const envelope = envelopeOf(session);
    const id = `${session.id}.${session.transaction}`;
    const outcome = await receiveData(stream, limits);
    const bad = checkData(outcome, limits);
    if (bad) return refused(bad, `message ${id} (${outcome.bytes} bytes)`, session);
    const received = receivedHeader({
      helo: info.helo,
      rdns: session.clientHostname && !session.clientHostname.startsWith('[') ? session.clientHostname : null,
      ip: session.remoteAddress,
      hostname: opts.hostname,
      role: opts.role,
      protocol: session.transmissionType || 'SMTP',
      id,
      recipients: envelope.recipients,
      date: opts.now ? opts.now() : new Date(),
    });
    const message = Buffer.concat([Buffer.from(received, 'utf8'), outcome.message!]);
    const d = await decide('onMessage', log, () => policy.onMessage(info, envelope, message), hookTimeout);
    if (d.kind !== 'accept') return refused(d.reply, `message ${id}`, session);
    log.info({ sid: session.id, id, bytes: message.length, rcpts: envelope.recipients.length }, 'message accepted');
    return d.reply ?? reply('QUEUED', `${reply('QUEUED').text} as ${id}`);
  };

  const smtpOptions: SMTPServerOptions = {
    name: opts.hostname,
    size: limits.maxMessageSize,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !opts.tls,
    socketTimeout: limits.commandTimeout,
    logger: opts.logger ? (libraryLogger(opts.logger.child({ role: opts.role, component: 'smtp-server' })) as never) : false,
    ...(opts.resolver ? { resolver: { reverse: reverseLookup(opts.resolver) } } : { disableReverseLookup: true }),
    ...(opts.tls
      ? {
          key: opts.tls.key,
          cert: opts.tls.cert,
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          minVersion: 'TLSv1.2' as const,
          // Ask for a certificate but decide ourselves (connectors match on it): never fail the handshake.
          ...(opts.requestClientCert ? { requestCert: true, rejectUnauthorized: false } : {}),
        }
      : {}),

    onConnect(session, done) {
      const info = infoOf(session);
      if (perIp.count(session.remoteAddress) > limits.maxConnectionsPerIp) {
        return refuse(done, reply('TOO_MANY_CONNECTIONS'), 'connection', session);
      }
      if (!policy.onConnect) return done();
      void decide('onConnect', log, () => policy.onConnect!(info), hookTimeout).then((d) => {
        if (d.kind !== 'accept') return refuse(done, d.reply, 'connection', session);
        done();
      });
    },

    onSecure(socket, session, done) {
      const info = infoOf(session);
      info.secure = true;
      info.peerCertificate = peerCertificateOf(socket as tls.TLSSocket);
      log.info({ sid: session.id, cert: info.peerCertificate }, 'TLS established');
      done();
    },

    onMailFrom(address, session, done) {
      const parsed = address as ParsedAddress;
      const params = normalizeParams(parsed.args);
      const sender = addressOf(parsed);
      const bad = checkMailParams(params) ?? checkUtf8(sender, params['SMTPUTF8'] === true);
      if (bad) return refuse(done, bad, 'MAIL FROM', session);
      if (!policy.onMailFrom) return done();
      const info = infoOf(session);
      void decide('onMailFrom', log, () => policy.onMailFrom!(info, sender), hookTimeout).then((d) => {
        if (d.kind !== 'accept') return refuse(done, d.reply, 'MAIL FROM', session);
        done();
      });
    },

    onRcptTo(address, session, done) {
      const parsed = address as ParsedAddress;
      const recipient = addressOf(parsed);
      const bad =
        checkRcptParams(normalizeParams(parsed.args)) ?? checkUtf8(recipient, session.envelope.smtpUtf8 === true);
      if (bad) return refuse(done, bad, 'RCPT TO', session);
      // Over the limit only a new address is refused; a repeat replaces its earlier entry in smtp-server.
      const key = parsed.address.toLowerCase();
      const list = session.envelope.rcptTo;
      if (list.length >= limits.maxRecipients && !list.some((r) => r.address.toLowerCase() === key)) {
        return refuse(done, reply('TOO_MANY_RECIPIENTS'), 'RCPT TO', session);
      }
      const info = infoOf(session);
      void decide(
        'onRcptTo',
        log,
        () => (policy.onRcptTo ? policy.onRcptTo(info, envelopeOf(session), recipient) : { kind: 'accept' }),
        hookTimeout,
      ).then((d) => {
        if (d.kind !== 'accept') return refuse(done, d.reply, 'RCPT TO', session);
        done();
      });
    },

    onData(stream, session, done) {
      receiveMessage(stream as Readable, session).then(
        (r) => (r.code < 300 ? done(null, replyText(r)) : done(toSmtpError(r))),
        (err: Error) => {
          // the client went away mid-message, or a bug: nothing was accepted
          log.warn({ sid: session.id, err: err.message }, 'message not received');
          done(toSmtpError(reply('LOCAL_ERROR')));
        },
      );
    },

    onClose(session) {
      sessions.delete(session.id);
    },
  };

  const smtp = new ListenerSMTPServer(smtpOptions, control, track);
  // Connection-level errors (resets mid-transaction, failed handshakes) arrive here; they end one
  // session, not the listener.
  smtp.on('error', (err: Error) => log.warn({ err: err.message }, 'smtp session error'));

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        smtp.server.once('error', onError);
        smtp.server.listen(opts.port, opts.host, () => {
          smtp.server.removeListener('error', onError);
          const a = smtp.server.address() as net.AddressInfo;
          log.info({ host: a.address, port: a.port }, 'listening');
          resolve({ host: a.address, port: a.port });
        });
      });
    },

    async close(graceMs = DEFAULT_GRACE_MS) {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => smtp.server.close(() => resolve()));
      // Sessions between commands are told now; one in DATA (or waiting on a hook) finishes its
      // message and gets 421 4.3.2 at its next command (MailflowConnection._onCommand).
      for (const c of open) {
        if (!c._dataStream && !c._handlerPending) c.send(421, replyText(reply('SHUTTING_DOWN')));
      }
      if (open.size) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          onConnectionGone = () => {
            if (open.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
      }
      onConnectionGone = null;
      for (const c of open) {
        c.send(421, replyText(reply('SHUTTING_DOWN')));
        c._socket.destroy();
      }
      await closed;
      log.info('closed');
    },

    connections: () => open.size,
  };
}
