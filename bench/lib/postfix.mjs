// Postfix side: Debian's package (installed if missing, never a system instance), one private
// instance per hop (`postfix -c DIR`), set up as in ../shared/bench/postfix/lib.sh. See bench/README.md.
import { chownSync, chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { alive, descendants, run, sleep, waitPort } from './proc.mjs';

export async function ensurePostfix(log) {
  const have = (bin) => ['/usr/sbin/', '/usr/bin/'].some((d) => existsSync(d + bin));
  if (have('postfix') && have('smtp-source') && have('smtp-sink')) return;
  log('installing postfix from the Debian packages (debconf: No configuration; no system instance)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const steps = [
    ['debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n'],
    ['apt-get', ['update', '-q']],
    ['apt-get', ['install', '-y', '-q', 'postfix']],
  ];
  for (const [cmd, args, input] of steps) {
    const r = await run(cmd, args, { env, input, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.err.slice(-500)}`);
  }
}

export async function ensureStrace(log) {
  if (existsSync('/usr/bin/strace')) return;
  log('installing strace from the Debian packages...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', 'strace']]) {
    const r = await run('apt-get', args, { env, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${r.err.slice(-500)}`);
  }
}

export function postfixVersion() {
  try {
    return execFileSync('postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const uid = (name) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
const gid = (name) => Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());

const MASTER_CF = (listen) => `${listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/**
 * One instance: listens on host:port, relays everything to next ({host, port}), or (maildir set)
 * delivers `maildir.address` into a Maildir under `<dir>/mail` with virtual(8).
 */
export function createInstance(base, name, { host, port, next, maildir }) {
  const d = join(base, `pf-${name}`);
  for (const sub of ['etc', 'queue', 'data']) mkdirSync(join(d, sub), { recursive: true });
  // master.lock needs a traversable path (mktemp's 700 is not); data dir belongs to postfix.
  for (const p of [d, join(d, 'etc'), join(d, 'queue')]) chmodSync(p, 0o755);
  chownSync(join(d, 'data'), uid('postfix'), gid('postfix'));
  const lines = [
    'compatibility_level = 3.6',
    `queue_directory = ${d}/queue`,
    `data_directory = ${d}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `myhostname = hop-${name}.pfbench.test`,
    'mydomain = pfbench.test',
    'myorigin = $myhostname',
    'mydestination =',
    'local_recipient_maps =',
    'local_transport = error:local delivery disabled',
    'alias_maps =',
    'alias_database =',
    'inet_interfaces = 127.0.0.1', // must be an interface address; master.cf binds the listener
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'smtpd_recipient_restrictions =',
    'smtpd_tls_security_level = none',
    'smtp_tls_security_level = none',
    'smtp_dns_support_level = disabled',
    'biff = no',
    `maillog_file = ${d}/maillog`,
    'notify_classes =',
  ];
  if (next) lines.push(`relayhost = [${next.host}]:${next.port}`);
  if (maildir) {
    const mail = join(d, 'mail');
    mkdirSync(mail, { recursive: true });
    chownSync(mail, uid('nobody'), gid('nobody'));
    lines.push(
      `virtual_mailbox_domains = ${maildir.address.split('@')[1]}`,
      `virtual_mailbox_base = ${mail}`,
      // trailing slash: Maildir format
      `virtual_mailbox_maps = inline:{ ${maildir.address}=${maildir.address.split('@')[0]}/Maildir/ }`,
      `virtual_uid_maps = static:${uid('nobody')}`,
      `virtual_gid_maps = static:${gid('nobody')}`,
    );
  }
  writeFileSync(join(d, 'etc', 'main.cf'), lines.join('\n') + '\n');
  writeFileSync(join(d, 'etc', 'master.cf'), MASTER_CF(`${host}:${port}`));
  return {
    name,
    dir: d,
    conf: join(d, 'etc'),
    host,
    port,
    maildirNew: maildir ? join(d, 'mail', maildir.address.split('@')[0], 'Maildir', 'new') : null,
  };
}

export async function startInstance(inst, log) {
  const r = await run('postfix', ['-c', inst.conf, 'start'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`postfix start (${inst.name}) failed: ${r.err || r.out}`);
  await waitPort(inst.host, inst.port, 20_000);
  inst.masterPid = masterPid(inst);
  log?.(`postfix ${inst.name} up on ${inst.host}:${inst.port} (master ${inst.masterPid})`);
}

export function masterPid(inst) {
  try {
    return Number(readFileSync(join(inst.dir, 'queue', 'pid', 'master.pid'), 'latin1').trim());
  } catch {
    return 0;
  }
}

/** `postfix abort`, then wait (bounded) for the master and its children; SIGKILL by PID what is left. */
export async function stopInstance(inst) {
  const pid = inst.masterPid || masterPid(inst);
  const kids = pid ? descendants([pid]) : [];
  await run('postfix', ['-c', inst.conf, 'abort'], { timeoutMs: 20_000 });
  const until = Date.now() + 10_000;
  while (kids.some(alive) && Date.now() < until) await sleep(100);
  for (const p of kids.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Queue files still held (incoming, active, deferred, maildrop): what Postfix has not passed on. */
export function queuedFiles(inst) {
  let n = 0;
  for (const q of ['incoming', 'active', 'deferred', 'maildrop', 'hold']) n += countFiles(join(inst.dir, 'queue', q));
  return n;
}

export function countFiles(dir) {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}
