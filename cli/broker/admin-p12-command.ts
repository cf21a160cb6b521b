// `plexus broker admin-p12`: the admin identity from the data directory as a
// password-protected PKCS#12, to load into a browser for the dashboard, or to administer
// from another machine (`--admin-p12 FILE` of every admin command). Local only: it
// reads D/admin/ and talks to no broker; the clusterset roots (D/admin/ca.crt) go in as
// CA certificates, which a browser still trusts only when told to.
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { parseIdentity } from '../../certs/identity.ts';
import { dataDirLayout, readDataFile } from '../../broker/data-dir.ts';
import { dataDirOption, outputOption } from '../options.ts';
import { printData, type OutputFormat } from '../output.ts';
import { p12PasswordFileOption, p12Password, processPasswordSources, writePkcs12File } from '../pkcs12-file.ts';

interface AdminP12Flags { dataDir: string; out: string; p12PasswordFile?: string; output: OutputFormat }

export function registerAdminP12Command(broker: Command): void {
  broker.command('admin-p12')
    .summary('write the admin identity as a password-protected PKCS#12 (browser, remote admin)')
    .description('Write the admin certificate and key (DATA_DIR/admin/) as a password-protected PKCS#12 (0600),\n'
      + 'with the clusterset root as a CA certificate: import it into the browser that opens the dashboard,\n'
      + 'and trust the root there for websites. Or copy it to another machine and pass it to any admin command\n'
      + 'as --admin-p12 FILE (env PLEXUS_ADMIN_P12) with --broker URL (env PLEXUS_BROKER). Nothing is sent to the broker.')
    .addOption(dataDirOption())
    .requiredOption('--out <file>', 'PKCS#12 file to write (0600, replaced atomically)')
    .addOption(p12PasswordFileOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  plexus broker admin-p12 --data-dir ./broker --out admin.p12 --p12-password-file ./p12-pass')
    .action(async (flags: AdminP12Flags) => {
      const layout = dataDirLayout(flags.dataDir);
      const certPem = readDataFile(layout.adminCert, 'admin certificate');
      const keyPem = readDataFile(layout.adminKey, 'admin key');
      const caPem = readDataFile(layout.adminCa, 'admin trust bundle');
      const password = await p12Password(processPasswordSources(flags.p12PasswordFile));
      const uri = new X509Certificate(certPem).subjectAltName?.match(/URI:([^,\s]+)/)?.[1];
      const identity = uri ? parseIdentity(uri) : undefined;
      const friendlyName = identity ? `plexus ${identity.name}@${identity.trustDomain}` : 'plexus admin';
      const file = await writePkcs12File(flags.out, { keyPem, certPem, caPem, password, friendlyName });
      const json = { identity: uri ?? null, p12: file };
      printData(flags.output, json, Object.entries(json), [{ header: 'field', value: (r) => r[0] }, { header: 'value', value: (r) => r[1] }]);
    });
}
