// mailflow side: `mailflow start` on a generated topology (bench/lib/topology.mjs), one process for
// all the roles of a scenario (the default of `start`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADDR, PORT, rolesFor, writeMailflowConfig, MAILBOX_RCPT } from './topology.mjs';
import { spawnTracked, stopChild, waitPort, statusField, sleep } from './proc.mjs';

export const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

/**
 * Starts the roles of `scenario`: in one `mailflow start` process (procs 'one', the default of
 * `start`), or one process per role ('per-role', as the roles run on separate servers); resolves when
 * every role listens.
 */
export async function startMailflow(base, scenario, { greetingDelayMs = 0, filtering = true, logLevel = 'info', nodeArgs = [], wrap, procs = 'one' } = {}) {
  const dir = join(base, `mf-${scenario}${filtering ? '' : '-nofilter'}${greetingDelayMs ? `-greet${greetingDelayMs}` : ''}`);
  mkdirSync(dir, { recursive: true });
  const config = writeMailflowConfig(dir, scenario, { greetingDelayMs, filtering });
  const roles = rolesFor(scenario);
  const groups = procs === 'per-role' ? roles.map((r) => [r]) : [roles];
  // MF_NODE_ARGS: extra Node/V8 flags for mailflow's processes in any bench script (experiments).
  nodeArgs = [...nodeArgs, ...(process.env.MF_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  const children = groups.map((group) => {
    const args = [...nodeArgs, MAIN, 'start', '--config', config, '--log-level', logLevel, '--role', ...group];
    const [cmd, cmdArgs] = wrap ? wrap(process.execPath, args) : [process.execPath, args];
    return spawnTracked(cmd, cmdArgs, { stderrFile: join(dir, `mailflow-${group.join('-')}.log`), cwd: dir });
  });
  const stopAll = async () => {
    for (const c of children) await stopChild(c, 15_000);
    await sleep(50);
  };
  try {
    for (const r of roles) await waitPort(ADDR[r], PORT, 30_000);
  } catch (err) {
    await stopAll();
    throw new Error(`mailflow did not start (see the logs in ${dir}): ${err.message}`);
  }
  return {
    children,
    dir,
    pid: children[0].pid,
    pids: children.map((c) => c.pid),
    maildirNew: join(dir, 'data', 'onprem', 'mailboxes', MAILBOX_RCPT, 'new'),
    /** Peak RSS: the kernel's high-water mark, summed over the processes. */
    hwm: () => children.reduce((a, c) => a + statusField(c.pid, 'VmHWM'), 0),
    stop: stopAll,
  };
}
