// `mailflow start --config FILE [--role NAME ...]`: run the configured roles until SIGTERM/SIGINT.
import type { Command } from 'commander';
import pino from 'pino';
import { roleNames } from '../roles/names.js';
import { startRole, type RunningRole } from '../roles/role.js';
import { CliExit, loadConfigOrExit, runCommand } from './common.js';

export function register(program: Command): void {
  program
    .command('start')
    .description('run the roles of the topology (all in one process, or the ones named with --role)')
    .requiredOption('--config <file>', 'topology file')
    .option('--role <name...>', 'run only these roles (gateway, hub, or an on-prem server name)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action((opts: { config: string; role?: string[]; logLevel: string }) =>
      runCommand(async () => {
        const loaded = loadConfigOrExit(opts.config);
        const known = roleNames(loaded.config);
        const wanted = opts.role ?? known;
        for (const r of wanted) if (!known.includes(r)) throw new CliExit(2, `unknown role "${r}" (known: ${known.join(', ')})`);
        // Buffered, written off the event loop: a synchronous write per log line was a syscall per
        // line on the relay's only thread. Lines wait at most a second (the interval below).
        const dest = pino.destination({ dest: 2, minLength: 8192, sync: false });
        const logger = pino({ level: opts.logLevel }, dest);
        const flushLog = () => {
          try {
            dest.flushSync();
          } catch {
            /* nothing buffered, or still opening */
          }
        };
        const flusher = setInterval(() => dest.flush(), 1000);
        flusher.unref();
        process.once('exit', flushLog);
        const running: RunningRole[] = [];
        try {
          for (const r of wanted) {
            const role = await startRole(loaded, r, { logger, deliver: false });
            running.push(role);
            logger.info({ role: r, listen: `${role.address.host}:${role.address.port}`, data: role.dataDir }, 'role started');
          }
        } catch (err) {
          await Promise.all(running.map((r) => r.stop(1000)));
          flushLog();
          throw new CliExit(1, (err as Error).message);
        }
        // Every listener of this process is up: now the queues may deliver (to each other too).
        for (const r of running) r.startDelivery();
        flushLog(); // whoever waits for "role started" sees it now
        await new Promise<void>((resolve) => {
          const stop = (sig: string) => {
            logger.info({ signal: sig }, 'stopping: finishing sessions in flight, the queue stays on disk');
            resolve();
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
        await Promise.all(running.map((r) => r.stop(10_000)));
        logger.info('stopped');
        clearInterval(flusher);
        flushLog();
        return 0;
      }),
    );
}
