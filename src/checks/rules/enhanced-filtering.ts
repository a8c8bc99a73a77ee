// Enhanced Filtering for Connectors on the gateway's connector (inventory rules 11–13, 17).
import { ipInAny, isRfc1918 } from '../../routing/ip.js';
import { gatewayConnectors, inbound } from '../topology.js';
import { defineRule } from '../types.js';

const ef = (i: number, ...rest: (string | number)[]) => ['hub', 'inboundConnectors', i, 'enhancedFiltering', ...rest];

export const efEnabled = defineRule(
  {
    id: 'ef-enabled',
    title: 'Enhanced Filtering is on for the gateway\'s connector',
    source: 'inventory rule 11 (scenario 1: "inevitably results in misclassification") and 17 (scenario 2: mandatory)',
    severities: ['error', 'warning'],
  },
  ({ config }, emit) => {
    const conns = gatewayConnectors(config);
    if (!conns.length || conns.some(({ c }) => c.enhancedFiltering.mode !== 'off')) return;
    const first = conns[0]!;
    const ips = config.gateway.addresses.join(', ') || '<gateway egress IPs>';
    const fix = `set enhancedFiltering: { mode: skip-ips, skipIps: [${ips}] } on connector "${first.c.name}"`;
    if (config.scenario === 'archiving') {
      emit('error', ef(first.index, 'mode'), `Enhanced Filtering is off on the gateway's connector. In scenario 2 the service does no spam filtering and all internet mail appears to originate from it, so the hub's SPF, spoof and phish checks see only the service (rule 17: "requires you to use Enhanced Filtering for Connectors"); ${fix}`);
    } else {
      emit('warning', ef(first.index, 'mode'), `Enhanced Filtering is off on the gateway's connector: the MX is not the hub, so the hub sees the gateway as every message's source and SPF/DMARC/spoof verdicts go wrong (rule 11: failing to enable it "inevitably results in misclassification"); ${fix}`);
    }
  },
);

export const efSkipIpsCoverGateway = defineRule(
  {
    id: 'ef-skip-ips-cover-gateway',
    title: 'The Enhanced Filtering skip list covers every gateway address',
    source: 'inventory rules 11 and 12 (list all third-party egress IPs; missed hops fail SPF on the wrong IP)',
    severities: ['error'],
  },
  ({ config }, emit) => {
    const addrs = config.gateway.addresses;
    for (const { c, index } of gatewayConnectors(config)) {
      const e = c.enhancedFiltering;
      if (e.mode !== 'skip-ips') continue;
      if (e.skipIps.length === 0) {
        emit('error', ef(index, 'mode'), `connector "${c.name}" uses skip-ips with an empty skipIps list, which is the same as off (rule 11); list the gateway's addresses ${addrs.join(', ')}`);
        continue;
      }
      const missing = addrs.filter((a) => !ipInAny(a, e.skipIps));
      if (missing.length) {
        emit('error', ef(index, 'skipIps'), `Enhanced Filtering on "${c.name}" does not skip gateway address(es) ${missing.join(', ')}: mail relayed from them is judged by the gateway's IP and fails SPF (rule 12: every hop must be listed); add them to skipIps`);
      }
    }
  },
);

export const efPrivateIp = defineRule(
  {
    id: 'ef-private-ip',
    title: 'Enhanced Filtering lists contain no RFC 1918 addresses',
    source: 'inventory rule 12 (EF page; issue #1960: private IPs are rejected by the portal and PowerShell)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      c.enhancedFiltering.skipIps.forEach((ip, j) => {
        if (!isRfc1918(ip)) return;
        const seed = ip === '10.10.10.1' ? ' It is the seeds\' example third-party address, which is in fact private.' : '';
        emit('warning', ef(index, 'skipIps', j), `${ip} is an RFC 1918 private address: Exchange Online refuses it in Enhanced Filtering and skips private hops by itself (rule 12, issue #1960).${seed} List the gateway's public egress addresses instead (loopback is fine for the demo)`);
      });
    }
  },
);

export const efSkipLastMultiple = defineRule(
  {
    id: 'ef-skip-last-multiple',
    title: 'skip-last is used only when a single gateway hop is skipped',
    source: 'inventory rule 11 (EFSkipLastIP "if only one hop to skip")',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    if (config.gateway.addresses.length <= 1) return;
    for (const { c, index } of gatewayConnectors(config)) {
      if (c.enhancedFiltering.mode !== 'skip-last') continue;
      emit('warning', ef(index, 'mode'), `connector "${c.name}" uses skip-last but the gateway has ${config.gateway.addresses.length} addresses; Microsoft recommends skip-last only when there is one hop to skip (rule 11); use mode: skip-ips with skipIps [${config.gateway.addresses.join(', ')}]`);
    }
  },
);

export const efUsersScope = defineRule(
  {
    id: 'ef-users-scope',
    title: 'Enhanced Filtering limited to some users',
    source: 'inventory rule 13 (EFUsers: applies only if all recipients are listed; PR #1982)',
    severities: ['info'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      const e = c.enhancedFiltering;
      if (e.mode === 'off' || e.users.length === 0) continue;
      emit('info', ef(index, 'users'), `Enhanced Filtering on "${c.name}" applies only to messages whose recipients are all among the ${e.users.length} listed users; a message to a listed and an unlisted recipient gets normal filtering (rule 13). List every proxy address (and in hybrid the targetAddress), or leave users empty to cover everyone`);
    }
  },
);
