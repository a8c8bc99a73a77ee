// What every command shares: loading the config with readable errors, and printing results.
import { ConfigError, formatProblem, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { parseEndpoint } from '../config/schema.js';

/** Thrown by commands to end with a message and an exit code, never a stack trace. */
export class CliExit extends Error {
  constructor(readonly code: number, message = '') {
    super(message);
  }
}

export function loadConfigOrExit(file: string | undefined): LoadedConfig {
  if (!file) throw new CliExit(2, 'missing --config FILE');
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliExit(2, `invalid config:\n${err.problems.map((p) => '  ' + formatProblem(p)).join('\n')}`);
    }
    throw err;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** `--dns HOST:PORT` → endpoint string list for the resolver (validated). */
export function dnsServersOption(value: string | undefined, fallback: string[] = []): string[] {
  if (!value) return fallback;
  const servers = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of servers) if (!parseEndpoint(s, 53)) throw new CliExit(2, `--dns: "${s}" is not HOST:PORT`);
  return servers;
}

/** Run a command body; turn CliExit into its exit code and message. */
export async function runCommand(body: () => Promise<number | void> | number | void): Promise<void> {
  try {
    const code = await body();
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(`mailflow: ${err.message}\n`);
      process.exitCode = err.code;
      return;
    }
    throw err;
  }
}
