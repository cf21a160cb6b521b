// `plexus login`, `plexus export-p12` and `plexus kubeconfig`: the person-side command group.
// Parsing and presentation only; the work lives in login.ts, kubeconfig.ts and ../pkcs12-file.ts.
import { Command, Option } from 'commander';
import { outputOption } from '../options.ts';
import { printData, type OutputFormat } from '../output.ts';
import { p12PasswordFileOption, processPasswordSources, p12Password, writePkcs12File } from '../pkcs12-file.ts';
import { configDirLayout, defaultConfigDir, loadIdentity, type StoredUserIdentity } from './config-dir.ts';
import { login, renew } from './login.ts';
import { UserBrokerClient } from './user-broker-client.ts';
import { UserCliError } from './user-error.ts';

const configDirOption = () => new Option('--config-dir <dir>', 'where the identity lives (env PLEXUS_CONFIG_DIR)').default(defaultConfigDir(), '~/.plexus');

interface LoginFlags { broker?: string; token?: string; caFingerprint?: string; renew?: boolean; p12?: string; p12PasswordFile?: string; configDir: string; output: OutputFormat }

/** The identity as a PKCS#12 for a browser: key, certificate and the clusterset roots as CA certificates. */
function writeUserP12(file: string, id: StoredUserIdentity, password: string): Promise<string> {
  return writePkcs12File(file, { keyPem: id.keyPem, certPem: id.certPem, caPem: id.caPem, password, friendlyName: `plexus ${id.profile.name}@${id.profile.clusterset}` });
}

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
    .option('--p12 <file>', 'also write the new certificate and key as a password-protected PKCS#12 for a browser (0600)')
    .addOption(p12PasswordFileOption())
    .addOption(configDirOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  plexus login --broker https://10.0.0.5:7443 --token plx1.… --ca-fingerprint sha256:…\n  plexus login --renew --p12 ~/plexus.p12')
    .action(async (flags: LoginFlags) => {
      const now = () => new Date();
      if (flags.p12PasswordFile !== undefined && flags.p12 === undefined) throw new UserCliError('PLX_USER_BAD_ARGUMENT', '--p12-password-file needs --p12 FILE');
      // Asked before the login, so a missing password never costs the one-time token.
      const password = flags.p12 === undefined ? undefined : await p12Password(processPasswordSources(flags.p12PasswordFile));
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
      const p12 = flags.p12 === undefined ? {} : { p12: await writeUserP12(flags.p12, id, password!) };
      const row = { identity: id.profile.identity, groups: id.profile.groups.join(','), expires: id.profile.notAfter, certificate: layout.cert, key: layout.key, ...p12 };
      printData(flags.output, { ...row, groups: id.profile.groups }, [row], Object.keys(row).map((k) => ({ header: k, value: (r: typeof row) => r[k as keyof typeof row] })));
    });
}

interface ExportP12Flags { out: string; p12PasswordFile?: string; configDir: string; output: OutputFormat }

function exportP12Command(): Command {
  return new Command('export-p12')
    .description('Write your current certificate and key (from the last `plexus login`) as a password-protected\n'
      + 'PKCS#12 for a browser, with the clusterset root as a CA certificate. Nothing is sent; re-run after\n'
      + '`plexus login --renew` (or use `plexus login --renew --p12 FILE`), since the file is a copy.')
    .requiredOption('--out <file>', 'PKCS#12 file to write (0600, replaced atomically)')
    .addOption(p12PasswordFileOption())
    .addOption(configDirOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  plexus export-p12 --out ~/plexus.p12 --p12-password-file ~/.p12-pass')
    .action(async (flags: ExportP12Flags) => {
      const id = loadIdentity(configDirLayout(flags.configDir));
      const password = await p12Password(processPasswordSources(flags.p12PasswordFile));
      const row = { identity: id.profile.identity, expires: id.profile.notAfter, p12: await writeUserP12(flags.out, id, password) };
      printData(flags.output, row, [row], Object.keys(row).map((k) => ({ header: k, value: (r: typeof row) => r[k as keyof typeof row] })));
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
  program.addCommand(exportP12Command());
  program.addCommand(kubeconfigCommand());
}
