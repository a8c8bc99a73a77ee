// Reverse DNS for the Received header, through our Resolver (never the system resolver: tests talk
// only to loopback DNS). smtp-server wants `reverse(ip, cb)`; it discards names that are not valid
// host names, so a hostile PTR cannot inject into our header.

import net from 'node:net';
import type { Resolver } from '../../dns/types.js';

/** in-addr.arpa / ip6.arpa name for an address, or null if it is not one. */
export function ptrName(ip: string): string | null {
  if (net.isIPv4(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  if (!net.isIPv6(ip)) return null;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return nibbles.split('').reverse().join('.') + '.ip6.arpa';
}

export function reverseLookup(resolver: Resolver) {
  return (ip: string, cb: (err: Error | null, names?: string[]) => void): void => {
    const name = ptrName(ip);
    if (!name) return cb(null, []);
    resolver.query(name, 'PTR').then(
      (r) => cb(null, r.status === 'ok' ? r.answers.map((n) => n.replace(/\.$/, '')) : []),
      (err: Error) => cb(err),
    );
  };
}
