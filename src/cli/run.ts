// What every command shares that needs no config: exit codes, JSON output, --dns parsing. Kept free
// of zod and yaml so a quick command (spf check, run hundreds of times by the suite) starts fast.
import { parseEndpoint } from '../config/endpoint.js';

/** Thrown by commands to end with a message and an exit code, never a stack trace. */
export class CliExit extends Error {
  constructor(readonly code: number, message = '') {
    super(message);
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
