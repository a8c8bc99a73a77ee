// What every command shares: loading the config with readable errors, and printing results.
import { ConfigError, formatProblem, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { CliExit } from './run.js';

export { CliExit, dnsServersOption, printJson, runCommand } from './run.js';

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
