// `plexus broker …` subcommands: parsing and presentation only. init and start work on
// the data directory; token and cluster commands talk to the running broker's admin API
// (only the broker process opens the store). Errors are thrown as BrokerErrors and turned
// into a one-line `error [CODE]: …` with a non-zero exit by the top-level program.
import '../../certs/setup.ts';
import { Option, type Command } from 'commander';
import { printData, type OutputFormat } from '../output.ts';
import { registerAdminCommands } from './admin-commands.ts';
import { registerAdminP12Command } from './admin-p12-command.ts';
import { registerRbacCommands } from './rbac-commands.ts';
import { registerUserAdminCommands } from './user-commands.ts';
import { registerMetricsCommands } from './metrics-commands.ts';
import { registerCaCommands } from './ca-commands.ts';
import { dataDirOption, outputOption } from '../options.ts';
import { systemClock } from '../../broker/clock.ts';
import { brokerConfigDefaults, parseBrokerConfig } from '../../broker/config.ts';
import { DEFAULT_PROTECTED_NAMESPACES } from '../../broker/api/export-guard.ts';
import { parseDurationSeconds } from '../../broker/duration.ts';
import { initBroker } from '../../broker/init.ts';

interface EtcdFlags { etcdEndpoints?: string; etcdCa?: string; etcdCert?: string; etcdKey?: string; etcdPrefix?: string }
interface InitFlags extends EtcdFlags { dataDir: string; clusterset: string; keyAlgorithm: 'P-256' | 'RSA-2048'; output: OutputFormat }

/** --etcd-endpoints and its TLS files: the etcd store backend (absent: sqlite in --data-dir). */
function etcdOptions(cmd: Command): Command {
  return cmd
    .option('--etcd-endpoints <urls>', 'etcd store: comma-separated https://host:port of the etcd members (default: the embedded sqlite store in --data-dir)')
    .option('--etcd-ca <file>', 'etcd store: CA certificate that verifies the etcd members')
    .option('--etcd-cert <file>', 'etcd store: this broker\'s client certificate for etcd')
    .option('--etcd-key <file>', 'etcd store: its private key (mode 0600, else refused)')
    .option('--etcd-prefix <prefix>', 'etcd store: key prefix (default /plexus/<clusterset>/, recorded in --data-dir by init)');
}

function etcdInput(f: EtcdFlags) {
  if (f.etcdEndpoints === undefined && !f.etcdCa && !f.etcdCert && !f.etcdKey && f.etcdPrefix === undefined) return undefined;
  return {
    endpoints: f.etcdEndpoints ?? '',
    ...(f.etcdCa ? { ca: f.etcdCa } : {}), ...(f.etcdCert ? { cert: f.etcdCert } : {}), ...(f.etcdKey ? { key: f.etcdKey } : {}),
    ...(f.etcdPrefix !== undefined ? { prefix: f.etcdPrefix } : {}),
  };
}

function initCommand(broker: Command): void {
  etcdOptions(broker.command('init'))
    .summary('create a clusterset: root CA, store and admin identity')
    .description('Create a clusterset: its root CA, the broker store and the admin identity, in a new data directory.\n'
      + 'Refuses to touch a directory that already holds a clusterset.')
    .addOption(dataDirOption())
    .requiredOption('--clusterset <name>', 'clusterset name, a lowercase DNS name (the SPIFFE trust domain)')
    .addOption(new Option('--key-algorithm <alg>', 'root CA and admin key algorithm').choices(['P-256', 'RSA-2048']).default('P-256'))
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  plexus broker init --data-dir ./broker --clusterset acme.example\n'
      + '  plexus broker init --data-dir ./broker --clusterset acme.example --etcd-endpoints https://etcd-0:2379,https://etcd-1:2379 \\\n'
      + '    --etcd-ca etcd/ca.crt --etcd-cert etcd/broker.crt --etcd-key etcd/broker.key')
    .action(async (flags: InitFlags) => {
      // Validated as `broker start` validates them (every problem at once).
      const { etcd } = parseBrokerConfig({ dataDir: flags.dataDir, ...(etcdInput(flags) ? { etcd: etcdInput(flags)! } : {}) });
      const res = await initBroker({ dataDir: flags.dataDir, clusterset: flags.clusterset, algorithm: flags.keyAlgorithm, now: systemClock.now(), ...(etcd ? { etcd } : {}) });
      const json = { dataDir: res.dataDir, clusterset: res.clusterset, caFingerprint: res.caFingerprint, adminIdentity: res.adminIdentity, adminCertNotAfter: res.adminCertNotAfter };
      const rows = Object.entries(json).map(([field, value]) => ({ field, value }));
      printData(flags.output, json, rows, [{ header: 'field', value: (r) => r.field }, { header: 'value', value: (r) => r.value }]);
      if (flags.output === 'table') process.stdout.write(`\nNext: plexus broker start --data-dir ${res.dataDir} --listen 127.0.0.1:7443\n`);
    });
}

interface StartFlags extends EtcdFlags { dataDir: string; listen: string; san: string[]; clusterCertLifetime: string; clusterRenewGrace: string; userCertLifetime: string; leaseDuration: string; protectedNamespaces: string; logLevel: string }

function startCommand(broker: Command): void {
  etcdOptions(broker.command('start'))
    .summary('serve the broker API over HTTPS until SIGTERM/SIGINT')
    .description('Serve the broker API over HTTPS (TLS 1.3, client certificates) until SIGTERM/SIGINT.\n'
      + 'The serving certificate is issued from the root at start and names the listen host,\n'
      + 'localhost, 127.0.0.1 and every --san. The URL is recorded in DATA_DIR/broker.json.')
    .addOption(dataDirOption())
    .option('--listen <host:port>', 'address to listen on ([addr]:port for IPv6)', brokerConfigDefaults.listen)
    .option('--san <name>', 'extra DNS name or IP for the serving certificate (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--cluster-cert-lifetime <duration>', 'lifetime of issued cluster certificates (agents renew at about 2/3 of it)', '24h')
    .option('--cluster-renew-grace <duration>', 'how long after expiry a cluster may still renew its newest certificate (e.g. after a broker outage); 0s = never', '24h')
    .option('--user-cert-lifetime <duration>', 'lifetime of people\'s certificates from `plexus login`', '8h')
    .option('--lease-duration <duration>', 'a cluster that does not heartbeat for this long is marked unavailable', `${brokerConfigDefaults.leaseDurationSeconds}s`)
    .option('--protected-namespaces <list>', 'comma-separated namespaces no cluster may export from ("" = none)', DEFAULT_PROTECTED_NAMESPACES.join(','))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .addHelpText('after', '\nExample:\n  plexus broker start --data-dir ./broker --listen 0.0.0.0:7443 --san broker.acme.example')
    .action(async (flags: StartFlags) => {
      const config = parseBrokerConfig({
        dataDir: flags.dataDir,
        listen: flags.listen,
        sans: flags.san,
        clusterCertLifetimeSeconds: parseDurationSeconds(flags.clusterCertLifetime, '--cluster-cert-lifetime'),
        clusterRenewGraceSeconds: parseDurationSeconds(flags.clusterRenewGrace, '--cluster-renew-grace'),
        userCertLifetimeSeconds: parseDurationSeconds(flags.userCertLifetime, '--user-cert-lifetime'),
        leaseDurationSeconds: parseDurationSeconds(flags.leaseDuration, '--lease-duration'),
        protectedNamespaces: flags.protectedNamespaces.split(',').map((s) => s.trim()).filter((s) => s !== ''),
        logLevel: flags.logLevel,
        ...(etcdInput(flags) ? { etcd: etcdInput(flags)! } : {}),
      });
      // Loaded only here: the broker's server (fastify, pino, prom-client, sqlite) is not
      // something an agent or an admin command should pay for in memory (bench:footprint).
      const { runBroker } = await import('../../broker/main.ts');
      await runBroker(config);
    });
}

export function registerBrokerCommands(program: Command): void {
  const broker = program.command('broker')
    .description('Run and administer the broker: the clusterset root of trust and enrollment service');
  initCommand(broker);
  startCommand(broker);
  registerAdminCommands(broker);
  registerAdminP12Command(broker);
  registerRbacCommands(broker);
  registerUserAdminCommands(broker);
  registerMetricsCommands(broker);
  registerCaCommands(broker);
}
