// Sending one DNS message to one server and waiting for the message that answers it.
// UDP first; TCP (2-byte length prefix, RFC 1035 4.2.2) when the UDP answer comes back truncated.
import dgram from 'node:dgram';
import net from 'node:net';

export interface Server {
  host: string;
  port: number;
}

/** `accept` returns the decoded outcome for a message that answers our query, null to keep waiting. */
export type Accept<R> = (msg: Buffer) => R | null;

export type Exchange<R> = { kind: 'answer'; value: R } | { kind: 'timeout' } | { kind: 'error'; message: string };

export function udpExchange<R>(server: Server, query: Buffer, timeoutMs: number, accept: Accept<R>): Promise<Exchange<R>> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (outcome: Exchange<R>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('message', (msg, rinfo) => {
      // only the server we asked may answer (the id and question are checked by accept)
      if (rinfo.port !== server.port || !sameHost(rinfo.address, server.host)) return;
      const value = accept(msg);
      if (value !== null) finish({ kind: 'answer', value });
    });
    socket.on('error', (err) => finish({ kind: 'error', message: `udp ${server.host}:${server.port}: ${err.message}` }));
    socket.send(query, server.port, server.host, (err) => {
      if (err) finish({ kind: 'error', message: `udp ${server.host}:${server.port}: ${err.message}` });
    });
  });
}

export function tcpExchange<R>(server: Server, query: Buffer, timeoutMs: number, accept: Accept<R>): Promise<Exchange<R>> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let done = false;
    let pending = Buffer.alloc(0);
    const finish = (outcome: Exchange<R>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const value = accept(msg);
        if (value !== null) return finish({ kind: 'answer', value });
      }
    });
    socket.on('error', (err) => finish({ kind: 'error', message: `tcp ${server.host}:${server.port}: ${err.message}` }));
    socket.on('close', () => finish({ kind: 'error', message: `tcp ${server.host}:${server.port}: closed without an answer` }));
  });
}

function sameHost(a: string, b: string): boolean {
  if (a === b || !net.isIP(b)) return true; // a server given by name: only the port is checked
  // an IPv4 server may answer from its IPv4-mapped form on a dual-stack socket
  return a.replace(/^::ffff:/i, '') === b.replace(/^::ffff:/i, '');
}
