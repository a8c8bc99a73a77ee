// The seed's scenario 2 on loopback, for the demo: an archiving service (no spam filtering) that mail
// passes through in both directions; the hub needs Enhanced Filtering. Its own addresses (.12/.13) and
// domain, so it runs beside the hybrid demo and shares its DNS server and internet stand-in.
export const SCENARIO2_DEMO = `# mailflow demo, scenario 2 (archiving service in both directions; discouraged by the seed)
version: 1
organization: Contoso archive (demo)
scenario: archiving

domains:
  - name: archive.contoso.test
    type: authoritative

gateway:
  hostname: mx.archive.demo.test
  addresses: [127.0.0.12]
  listen: 127.0.0.12:2525
  filtering: false
  relaysOutbound: true
  inSpf: true

hub:
  hostname: archive-contoso-test.mail.hub.demo.test
  addresses: [127.0.0.13]
  listen: 127.0.0.13:2525
  submitFrom: [127.0.0.1]
  lockToGateway: true
  inboundConnectors:
    - name: From archiving service
      type: partner
      senderDomains: ['*']
      senderIpAddresses: [127.0.0.12]
      restrictDomainsToIPAddresses: true
      enhancedFiltering:
        mode: skip-ips
        skipIps: [127.0.0.12]
  outboundConnectors:
    - name: To archiving service
      type: partner
      recipientDomains: ['*']
      smartHosts: [mx.archive.demo.test]

mailboxes:
  cloud: [erin@archive.contoso.test]

dkim:
  - domain: archive.contoso.test
    selector: hub1
    role: hub

dmarc:
  policy: quarantine

dns:
  servers: [127.0.0.53:5353]
  timeout: 2s

smtpPort: 2525
dataDir: ./demo-data-s2

demo:
  internet:
    listen: 127.0.0.5:2525
    hostname: mx.fabrikam.test
  dns: 127.0.0.53:5353
  externalDomains: [fabrikam.test]
`;
