// What smtp-server itself logs, passed to our pino logger with two adjustments measured in the bench
// (bench/README.md: the library's lines were a quarter of the relay's CPU at log level info):
//  - a client resetting its socket (ECONNRESET/EPIPE: smtp-source and many MTAs close that way after
//    QUIT) is the client's business, logged at debug without serialising the error and its stack;
//  - smtp-server logs every close twice ('received "close" event', then 'Connection closed'): the
//    first goes to debug. "Connection from" and "Connection closed" stay at info, as Postfix logs its
//    connect/disconnect lines.
import type { Logger } from 'pino';

type LogFn = (obj: unknown, msg?: string, ...args: unknown[]) => void;

export interface LibraryLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

const CLIENT_RESETS = new Set(['ECONNRESET', 'EPIPE']);

export function libraryLogger(log: Logger): LibraryLogger {
  const debugOn = () => log.isLevelEnabled('debug');
  return {
    trace: (o, m, ...a) => log.trace(o as object, m, ...a),
    debug: (o, m, ...a) => log.debug(o as object, m, ...a),
    info: (o, m, ...a) => {
      const d = o as { tnx?: string; hadError?: unknown } | null;
      if (d?.tnx === 'close' && 'hadError' in d) {
        if (debugOn()) log.debug(d, m, ...a);
        return;
      }
      log.info(o as object, m, ...a);
    },
    warn: (o, m, ...a) => log.warn(o as object, m, ...a),
    error: (o, m, ...a) => {
      const err = (o as { err?: { code?: string; message?: string } } | null)?.err;
      if (err?.code && CLIENT_RESETS.has(err.code)) {
        if (debugOn()) log.debug({ tnx: 'error', code: err.code }, 'client reset the connection: %s', err.message);
        return;
      }
      log.error(o as object, m, ...a);
    },
    fatal: (o, m, ...a) => log.fatal(o as object, m, ...a),
  };
}
