// Commented starting configs for the seed topologies. `mailflow init --preset NAME` writes one.
// Addresses are the seeds' examples (Contoso 131.107.21.231, third party 10.10.10.1); `demo` moves
// the hybrid topology onto loopback so it can run on one machine.

export const PRESETS = ['hybrid', 'cloud', 'archive', 'demo'] as const;
export type PresetName = (typeof PRESETS)[number];

const header = (title: string) => `# mailflow topology: ${title}
# Validate with: mailflow check --config <this file>
# Every field and its default: README.md, section "Topology file".
version: 1
`;

const limitsAndQueue = `
limits:
  maxMessageSize: 36MB        # EXO default receive limit
  maxRecipients: 1000         # EXO organisational limit; RCPT beyond it gets 452
  maxHops: 50                 # Received headers before a loop is declared (Postfix hopcount_limit)
queue:
  retry: 1m,5m,10m,15m,30m,1h*23   # then the recipient expires with an NDR
  expire: 24h                      # EXO keeps undeliverable mail 24 h
`;

const hybrid = `${header('seed 000, third-party filter in front of the hub, mailboxes in the cloud and on-premises')}
organization: Contoso
scenario: filtering           # seed scenario 1: the gateway filters spam and malware

domains:
  - name: contoso.com
    type: internal-relay      # some mailboxes stay on-prem: recipients the hub does not host go on-prem

gateway:                      # the third-party cloud filter; the MX points here
  hostname: mx.filter.example.net
  addresses: [10.10.10.1]     # its egress IPs: the hub's partner connector is locked to them
  listen: 10.10.10.1:25
  filtering: true
  relaysOutbound: false       # scenario 1: outbound mail goes hub -> internet, not through the gateway
  inSpf: true                 # the seed lists the third party in SPF (it sends NDRs with our domain)

hub:                          # the cloud mail service (Exchange Online-like)
  hostname: contoso-com.mail.protection.outlook.com
  spfInclude: spf.protection.outlook.com
  listen: 0.0.0.0:25
  lockToGateway: true         # internet mail that bypasses the gateway is rejected
  inboundConnectors:
    - name: From third-party gateway
      type: partner
      senderDomains: ['*']
      senderIpAddresses: [10.10.10.1]
      restrictDomainsToIPAddresses: true
      requireTls: true
      enhancedFiltering:      # see the real sender IP behind the gateway
        mode: skip-ips
        skipIps: [10.10.10.1]
    - name: From on-premises
      type: onpremises
      senderIpAddresses: [131.107.21.231]
      tlsSenderCertificateName: mail.contoso.com
      requireTls: true
  outboundConnectors:
    - name: To on-premises
      type: onpremises
      recipientDomains: [contoso.com]
      smartHosts: [mail.contoso.com]
      tls: certificate-validation

onprem:
  - name: onprem
    hostname: mail.contoso.com
    addresses: [131.107.21.231]
    smartHost: hub            # everything not local goes to the hub, never straight to the internet
    inSpf: true               # the seed's SPF lists the on-prem IP

mailboxes:
  cloud: [alice@contoso.com, carol@contoso.com]
  onprem:
    onprem: [bob@contoso.com, dave@contoso.com]

dkim:
  - domain: contoso.com
    selector: selector1
    role: hub
    cname: selector1-contoso-com._domainkey.contoso.onmicrosoft.com

dmarc:
  policy: quarantine
  rua: [mailto:dmarc-reports@contoso.com]

autodiscover:
  target: autodiscover.outlook.com
${limitsAndQueue}`;

const cloud = `${header('seed 003 scenario 1, MX points to a third-party spam filter, every mailbox in the cloud')}
organization: Contoso
scenario: filtering

domains:
  - name: contoso.com
    type: authoritative       # every recipient lives in the hub: unknown ones get 550 5.1.10

gateway:
  hostname: mx.filter.example.net
  addresses: [10.10.10.1]
  listen: 10.10.10.1:25
  filtering: true
  relaysOutbound: false
  inSpf: true                 # seed 003 lists the third party in SPF

hub:
  hostname: contoso-com.mail.protection.outlook.com
  spfInclude: spf.protection.outlook.com
  listen: 0.0.0.0:25
  lockToGateway: true
  inboundConnectors:
    - name: From third-party gateway
      type: partner
      senderDomains: ['*']
      senderIpAddresses: [10.10.10.1]
      restrictDomainsToIPAddresses: true
      requireTls: true
      enhancedFiltering:
        mode: skip-ips
        skipIps: [10.10.10.1]

mailboxes:
  cloud: [alice@contoso.com, carol@contoso.com]

dkim:
  - domain: contoso.com
    selector: selector1
    role: hub
    cname: selector1-contoso-com._domainkey.contoso.onmicrosoft.com

dmarc:
  policy: quarantine
  rua: [mailto:dmarc-reports@contoso.com]
${limitsAndQueue}`;

const archive = `${header('seed 003 scenario 2, third-party archiving service in both directions, no spam filtering (discouraged)')}
organization: Contoso
scenario: archiving           # Microsoft does not recommend this; Enhanced Filtering is required

domains:
  - name: contoso.com
    type: authoritative

gateway:
  hostname: mx.archive.example.net
  addresses: [10.10.10.1]
  listen: 10.10.10.1:25
  filtering: false            # an archiving service: the hub has to filter
  relaysOutbound: true        # the hub's internet mail leaves through the service
  inSpf: true                 # the service is the real outbound source

hub:
  hostname: contoso-com.mail.protection.outlook.com
  spfInclude: spf.protection.outlook.com
  listen: 0.0.0.0:25
  lockToGateway: true
  inboundConnectors:
    - name: From archiving service
      type: partner
      senderDomains: ['*']
      senderIpAddresses: [10.10.10.1]
      restrictDomainsToIPAddresses: true
      requireTls: true
      enhancedFiltering:      # mandatory here: without it every sender seems to be the service
        mode: skip-ips
        skipIps: [10.10.10.1]
  outboundConnectors:
    - name: To archiving service
      type: partner
      recipientDomains: ['*']
      smartHosts: [mx.archive.example.net]
      tls: certificate-validation

mailboxes:
  cloud: [alice@contoso.com, carol@contoso.com]

dkim:
  - domain: contoso.com
    selector: selector1
    role: hub
    cname: selector1-contoso-com._domainkey.contoso.onmicrosoft.com

dmarc:
  policy: quarantine
  rua: [mailto:dmarc-reports@contoso.com]
${limitsAndQueue}`;

const demo = `${header('demo, the hybrid topology of seed 000 on loopback (gateway .2, hub .3, on-prem .4, internet .5)')}
organization: Contoso (demo)
scenario: filtering

domains:
  - name: contoso.test
    type: internal-relay

gateway:
  hostname: mx.gateway.demo.test
  addresses: [127.0.0.2]
  listen: 127.0.0.2:2525
  filtering: true
  relaysOutbound: false
  inSpf: true

hub:
  hostname: contoso-test.mail.hub.demo.test
  spfInclude: spf.hub.demo.test    # the demo DNS serves "v=spf1 ip4:127.0.0.3 -all" there
  addresses: [127.0.0.3]
  listen: 127.0.0.3:2525
  submitFrom: [127.0.0.1]     # cloud users submit from 127.0.0.1 (stands in for authenticated clients)
  lockToGateway: true
  inboundConnectors:
    - name: From gateway
      type: partner
      senderDomains: ['*']
      senderIpAddresses: [127.0.0.2]
      restrictDomainsToIPAddresses: true
      enhancedFiltering:
        mode: skip-ips
        skipIps: [127.0.0.2]
    - name: From on-premises
      type: onpremises
      senderIpAddresses: [127.0.0.4]
      tlsSenderCertificateName: mail.contoso.test
  outboundConnectors:
    - name: To on-premises
      type: onpremises
      recipientDomains: [contoso.test]
      smartHosts: [mail.contoso.test]

onprem:
  - name: onprem
    hostname: mail.contoso.test
    addresses: [127.0.0.4]
    listen: 127.0.0.4:2525
    submitFrom: [127.0.0.1]   # on-prem users submit from 127.0.0.1
    smartHost: hub
    inSpf: true

mailboxes:
  cloud: [alice@contoso.test, carol@contoso.test]
  onprem:
    onprem: [bob@contoso.test, dave@contoso.test]

dkim:
  - domain: contoso.test
    selector: hub1
    role: hub

dmarc:
  policy: quarantine
  rua: [mailto:dmarc-reports@contoso.test]

dns:
  servers: [127.0.0.53:5353]
  timeout: 2s

smtpPort: 2525                # every demo role listens on 2525, so MX and smart-host delivery use it
dataDir: ./demo-data

demo:
  internet:
    listen: 127.0.0.5:2525
    hostname: mx.fabrikam.test
  dns: 127.0.0.53:5353
  externalDomains: [fabrikam.test]
  hubSpf: v=spf1 ip4:127.0.0.3 -all
${limitsAndQueue}`;

const TEXTS: Record<PresetName, string> = { hybrid, cloud, archive, demo };

export function presetText(name: PresetName): string {
  return TEXTS[name];
}

export function isPresetName(s: string): s is PresetName {
  return (PRESETS as readonly string[]).includes(s);
}
