// The `plexus` command: a commander program with one group per role. Each role
// registers its own subcommands; this module only assembles them and turns errors into a
// one-line message with a stable code and a non-zero exit.
import { Command, CommanderError, Help, type HelpConfiguration } from 'commander';
import { registerBrokerCommands } from './broker/commands.ts';
import { registerAgentCommands } from './agent/commands.ts';
import { registerGatewayCommands } from './gateway/commands.ts';
import { registerUserCommands } from './user/commands.ts';
import { registerFleetCommands } from './fleet/fleet-commands.ts';
import { registerHealthCommand } from './health-command.ts';
import { describeError } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('plexus')
    .description('Plexus: a cross-cluster network and trust mesh for Kubernetes.\n\n'
      + 'A broker holds the clusterset root of trust and the service catalog; an agent in every\n'
      + 'member cluster enrolls with it, exports and imports services, and answers clusterset DNS.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerBrokerCommands(program);
  registerAgentCommands(program);
  registerGatewayCommands(program);
  registerUserCommands(program);
  registerFleetCommands(program);
  registerHealthCommand(program);
  configureHelpEverywhere(program, { sortSubcommands: true, boxWrap: reflowWrap });
  return program;
}

/**
 * Descriptions are written in the source with line breaks where the source line ends;
 * commander keeps those breaks and wraps again at the terminal's width, which left single
 * words on lines of their own. Lines of one paragraph are joined first; blank lines, list
 * items ("- …", "1. …"), command examples ("$ …") and indented lines keep their breaks.
 */
export function reflow(text: string): string {
  return text.replace(/([^\n])\n(?![\n\s\-$•]|\d+[.)] )/g, '$1 ');
}

function reflowWrap(this: Help, str: string, width: number): string {
  return Help.prototype.boxWrap.call(this, reflow(str), width);
}

function configureHelpEverywhere(cmd: Command, config: HelpConfiguration): void {
  cmd.configureHelp(config);
  for (const sub of cmd.commands) configureHelpEverywhere(sub, config);
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or the help/version, which exit 0).
      return err.exitCode;
    }
    process.stderr.write(describeError(err) + '\n');
    return 1;
  }
}
