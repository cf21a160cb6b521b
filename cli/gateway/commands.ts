// `plexus gateway …`: the east-west gateway of a cluster. Parsing only; the gateway lives
// in gateway/ and is imported inside the action (role-libraries: other commands never load it).
import { Command } from 'commander';

interface RunFlags {
  listen?: string; identityDir?: string; cert?: string; key?: string; ca?: string; exports?: string;
  member: string[]; forward: string[]; metricsListen?: string; logLevel?: string; sessionsPerPeer?: string; openTimeout?: string; reloadInterval?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function runCommand(): Command {
  return new Command('run')
    .description('Run the east-west gateway: one TLS 1.3 port that carries streams from peer gateways to the services this cluster exports, '
      + 'and local listeners that carry streams to other clusters\' gateways.\n\n'
      + 'Peers are clusters of this clusterset (mutual TLS, exact SPIFFE identities from the shared root); each stream names a '
      + 'service (NAME.NAMESPACE.svc:PORT), never an address, and is refused unless this cluster exports that service and port '
      + 'to a current member. TCP only: UDP ports are refused in the export table.\n\n'
      + 'Example: plexus gateway run --identity-dir /var/lib/plexus --exports exports.json --member west '
      + '--forward 127.0.0.1:9000=east@10.0.0.2:15443/web.shop.svc:80')
    .option('--listen <host:port>', 'the gateway port other clusters reach (default 0.0.0.0:15443)')
    .option('--identity-dir <dir>', 'a joined agent\'s data dir (identity.json); re-read for rotation')
    .option('--cert <file>', 'cluster certificate (PEM), with --key and --ca instead of --identity-dir')
    .option('--key <file>', 'its private key (PEM)')
    .option('--ca <file>', 'the clusterset trust bundle (PEM)')
    .option('--exports <file>', 'export table: {"exports":[{"namespace","name","ports":[{"port","protocol","backends":["host:port"]}]}]}')
    .option('--member <cluster>', 'a peer cluster admitted (repeatable; until the agent feeds membership from the broker)', collect, [])
    .option('--forward <spec>', 'LOCAL_HOST:PORT=CLUSTER@GATEWAY_HOST:PORT/NAME.NAMESPACE.svc:PORT (repeatable)', collect, [])
    .option('--metrics-listen <host:port|off>', 'plain-HTTP /metrics, /healthz, /readyz (default 0.0.0.0:9091)')
    .option('--sessions-per-peer <n>', 'long-lived HTTP/2 connections per peer gateway (default 2)')
    .option('--open-timeout <ms>', 'a stream without the peer gateway\'s answer by then fails (default 10000)')
    .option('--reload-interval <ms>', 'how often identity and export files are checked for changes (default 10000)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .action(async (flags: RunFlags) => {
      const { parseGatewayConfig } = await import('../../gateway/config.ts');
      const { runGateway } = await import('../../gateway/main.ts');
      await runGateway(parseGatewayConfig({
        listen: flags.listen, dataDir: flags.identityDir, certFile: flags.cert, keyFile: flags.key, caFile: flags.ca,
        exportsFile: flags.exports, members: flags.member, forwards: flags.forward, metricsListen: flags.metricsListen,
        logLevel: flags.logLevel, sessionsPerPeer: flags.sessionsPerPeer, openTimeoutMs: flags.openTimeout, reloadIntervalMs: flags.reloadInterval,
      }));
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}

export function registerGatewayCommands(program: Command): void {
  program.command('gateway')
    .description('Run the east-west gateway that carries services between clusters whose pod networks do not route')
    .addCommand(runCommand());
}
