// `host:port` parsing, kept apart from the zod schema so light commands (spf check) need not load zod.
import { isIP } from 'node:net';

export function parseEndpoint(s: string, defaultPort = 25): { host: string; port: number } | null {
  const m6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(s);
  if (m6) return checkPort(m6[1]!, m6[2], defaultPort);
  const parts = s.split(':');
  if (parts.length > 2) return isIP(s) === 6 ? { host: s, port: defaultPort } : null;
  const [host, port] = parts;
  if (!host) return null;
  return checkPort(host, port, defaultPort);
}
function checkPort(host: string, port: string | undefined, dflt: number) {
  if (port === undefined) return { host, port: dflt };
  const n = Number(port);
  return /^\d+$/.test(port) && n > 0 && n < 65536 ? { host, port: n } : null;
}
