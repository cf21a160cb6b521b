// Options shared by the `plexus` commands: the broker's data directory and --output (the admin
// commands' credentials are in broker/admin-credentials.ts).
import { Option } from 'commander';

export const DATA_DIR_ENV = 'PLEXUS_BROKER_DATA_DIR';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format: table or json').choices(['table', 'json']).default('table');
}

export function dataDirOption(): Option {
  const o = new Option('--data-dir <dir>', `broker data directory (env ${DATA_DIR_ENV})`).makeOptionMandatory();
  const fromEnv = process.env[DATA_DIR_ENV];
  return fromEnv ? o.default(fromEnv) : o;
}
