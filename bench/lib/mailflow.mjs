// mailflow side: `mailflow start` on a generated topology (bench/lib/topology.mjs), one process for
// all the roles of a scenario (the default of `start`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADDR, PORT, rolesFor, writeMailflowConfig, MAILBOX_RCPT } from './topology.mjs';
import { spawnTracked, stopChild, waitPort, statusField, sleep } from './proc.mjs';

export const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

/** Starts the roles of `scenario` in one `mailflow start` process; resolves when the gateway listens. */
export async function startMailflow(base, scenario, { greetingDelayMs = 0, logLevel = 'info', nodeArgs = [], wrap } = {}) {
  const dir = join(base, `mf-${scenario}`);
  mkdirSync(dir, { recursive: true });
  const config = writeMailflowConfig(dir, scenario, { greetingDelayMs });
  const roles = rolesFor(scenario);
  const args = [...nodeArgs, MAIN, 'start', '--config', config, '--log-level', logLevel, '--role', ...roles];
  const [cmd, cmdArgs] = wrap ? wrap(process.execPath, args) : [process.execPath, args];
  const child = spawnTracked(cmd, cmdArgs, { stderrFile: join(dir, 'mailflow.log'), cwd: dir });
  const ports = roles.map((r) => ADDR[r]);
  try {
    for (const host of ports) await waitPort(host, PORT, 30_000);
  } catch (err) {
    await stopChild(child, 2000);
    throw new Error(`mailflow did not start (see ${join(dir, 'mailflow.log')}): ${err.message}`);
  }
  return {
    child,
    dir,
    pid: child.pid,
    maildirNew: join(dir, 'data', 'onprem', 'mailboxes', MAILBOX_RCPT, 'new'),
    /** Peak RSS of the process (the kernel's high-water mark). */
    hwm: () => statusField(child.pid, 'VmHWM'),
    async stop() {
      await stopChild(child, 15_000);
      await sleep(50);
    },
  };
}
