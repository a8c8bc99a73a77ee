// How an operator's tool on this host re-injects into a role (quarantine release): the role's listen
// address (wildcards become loopback), presenting the role's own certificate so the role knows it.
import { isIP } from 'node:net';
import { parseEndpoint } from '../config/endpoint.js';
import type { LoadedConfig } from '../config/load.js';
import type { SendTarget } from '../smtp/outbound/types.js';
import { roleConfig } from './names.js';
import { tlsMaterialFor } from './tls-material.js';

/** Where a role listens, as a client on this host reaches it (wildcards become loopback). */
export function releaseTarget(loaded: LoadedConfig, role: string): Promise<{ target: SendTarget; hostname: string }> {
  const r = roleConfig(loaded.config, role);
  const ep = parseEndpoint(r.listen)!;
  const host = ep.host === '0.0.0.0' ? '127.0.0.1' : ep.host === '::' ? '::1' : ep.host;
  return tlsMaterialFor(loaded.config, loaded.baseDir, role).then((tls) => ({
    hostname: r.hostname,
    target: {
      host,
      port: ep.port,
      servername: r.hostname,
      tls: 'opportunistic',
      ca: tls.ca,
      // the role's own certificate: the role knows the release client is one of ours
      clientCert: { key: tls.key, cert: tls.cert },
      localAddress: isIP(host) && host !== '127.0.0.1' && host !== '::1' ? host : undefined,
    },
  }));
}
