// `plexus login` and `plexus kubeconfig`: the person-side command group. Parsing and
// presentation only; the work lives in login.ts and kubeconfig.ts.
import { Command, Option } from 'commander';
import { outputOption } from '../options.ts';
import { printData, type OutputFormat } from '../output.ts';
import { configDirLayout, defaultConfigDir, loadIdentity } from './config-dir.ts';
import { login, renew } from './login.ts';
import { UserBrokerClient } from './user-broker-client.ts';
import { UserCliError } from './user-error.ts';

const configDirOption = () => new Option('--config-dir <dir>', 'where the identity lives (env PLEXUS_CONFIG_DIR)').default(defaultConfigDir(), '~/.plexus');

interface LoginFlags { broker?: string; token?: string; caFingerprint?: string; renew?: boolean; configDir: string; output: OutputFormat }

function loginCommand(): Command {
  return new Command('login')
    .description('Get (or renew) your shared identity: a short-lived certificate spiffe://<clusterset>/user/<name>.\n\n'
      + 'The key is generated here and never leaves (file mode 0600); only a CSR is sent, with the\n'
      + 'one-time token from `plexus broker user invite`. The broker is trusted only if it presents the\n'
      + 'root whose fingerprint you pin. `--renew` uses the current certificate instead of a token.')
    .option('--broker <url>', 'broker URL, e.g. https://broker.example:7443')
    .option('--token <token>', 'one-time login token (env PLEXUS_LOGIN_TOKEN)')
    .option('--ca-fingerprint <sha256:hex>', 'fingerprint of the broker root, printed by `user invite`')
    .option('--renew', 'renew the current certificate (fails with PLX_BROKER_USER_REVOKED once revoked)')
    .addOption(configDirOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  plexus login --broker https://10.0.0.5:7443 --token plx1.… --ca-fingerprint sha256:…\n  plexus login --renew')
    .action(async (flags: LoginFlags) => {
      const now = () => new Date();
      let id;
      if (flags.renew) id = await renew({ configDir: flags.configDir, now });
      else {
        const token = flags.token ?? process.env.PLEXUS_LOGIN_TOKEN;
        if (!flags.broker || !token || !flags.caFingerprint) {
          throw new UserCliError('PLX_USER_BAD_ARGUMENT', 'login needs --broker, --token and --ca-fingerprint (or --renew)');
        }
        id = await login({ broker: flags.broker, token: token.trim(), caFingerprint: flags.caFingerprint, configDir: flags.configDir, now });
      }
      const layout = configDirLayout(flags.configDir);
      const row = { identity: id.profile.identity, groups: id.profile.groups.join(','), expires: id.profile.notAfter, certificate: layout.cert, key: layout.key };
      printData(flags.output, { ...row, groups: id.profile.groups }, [row], Object.keys(row).map((k) => ({ header: k, value: (r: typeof row) => r[k as keyof typeof row] })));
    });
}

interface KubeconfigFlags { output?: string; configDir: string; format: OutputFormat }

function kubeconfigCommand(): Command {
  return new Command('kubeconfig')
    .description('Write a kubeconfig with one context per member cluster (plexus-<cluster>), each pointing at\n'
      + 'that cluster\'s access proxy with your certificate. Re-run to pick up clusters that joined or left;\n'
      + 'other contexts in the file are kept.')
    .option('--output <file>', 'kubeconfig to write (default: first $KUBECONFIG entry, else ~/.kube/config)')
    .addOption(configDirOption())
    .addOption(new Option('--format <format>', 'how to print the result').choices(['table', 'json']).default('table'))
    .addHelpText('after', '\nExample:\n  plexus kubeconfig --output ~/.kube/plexus.yaml && kubectl --kubeconfig ~/.kube/plexus.yaml --context plexus-east-1 get ns')
    .action(async (flags: KubeconfigFlags) => {
      // The YAML reader comes with @kubernetes/client-node, which costs about a second to load: only here.
      const { buildKubeconfig, defaultKubeconfigPath, readKubeconfig, writeKubeconfig } = await import('./kubeconfig.ts');
      const layout = configDirLayout(flags.configDir);
      const id = loadIdentity(layout);
      const client = new UserBrokerClient({ baseUrl: id.profile.broker, caPem: id.caPem, clientCert: { certPem: id.certPem, keyPem: id.keyPem } });
      let list;
      try {
        list = await client.advertisements();
      } finally {
        await client.close();
      }
      const file = flags.output ?? defaultKubeconfigPath();
      const { doc, contexts } = buildKubeconfig({ existing: readKubeconfig(file), advertisements: list.advertisements, clusterset: id.profile.clusterset, userName: id.profile.name, layout });
      writeKubeconfig(file, doc);
      const rows = contexts.map((c) => ({ context: c, file }));
      printData(flags.format, { file, contexts }, rows, [{ header: 'context', value: (r) => r.context }, { header: 'file', value: (r) => r.file }]);
    });
}

export function registerUserCommands(program: Command): void {
  program.addCommand(loginCommand());
  program.addCommand(kubeconfigCommand());
}
