import { Command, CommanderError } from 'commander';
import { InvalidConfigError } from '../config/resolve-bouncer-config';
import { WorkerStartError } from '../cluster/cluster-primary';
import { InvalidPolicyError } from '../policy/policy-file/invalid-policy.error';
import { TlsMaterialError } from '../tls/tls-material';
import { checkCommand } from './check.command';
import { CommandInputError } from './command-input.error';
import { explainCommand } from './explain.command';
import { acceptGoStyleFlags } from './go-style-flags';
import { packageVersion } from './package-version';
import { serveCommand } from './serve.command';
import { setupCommand } from './setup.command';

/** Exit status for a usage or configuration mistake, as distinct from a runtime failure (1). */
export const EXIT_USAGE = 2;

export function buildCli(): Command {
  const program = new Command('kube-image-bouncer')
    .description('Kubernetes image admission webhook: decides which container images may run')
    .version(process.env.npm_package_version ?? packageVersion(), '-v, --version')
    .exitOverride();
  // A bare `kube-image-bouncer -cert ... -key ...` is the original invocation and means serve.
  program.addCommand(serveCommand().exitOverride(), { isDefault: true });
  program.addCommand(checkCommand().exitOverride());
  program.addCommand(explainCommand().exitOverride());
  program.addCommand(setupCommand().exitOverride());
  return program;
}

function longOptions(program: Command): Set<string> {
  const all = [program, ...program.commands].flatMap((command) => command.options.map((o) => o.long));
  return new Set(all.filter((long): long is string => long !== undefined));
}

export async function runCli(argv: readonly string[]): Promise<void> {
  const program = buildCli();
  const args = acceptGoStyleFlags(argv.slice(2), longOptions(program));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (
      error instanceof InvalidConfigError ||
      error instanceof TlsMaterialError ||
      error instanceof InvalidPolicyError ||
      error instanceof CommandInputError
    ) {
      process.stderr.write(`kube-image-bouncer: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof WorkerStartError) {
      process.stderr.write(`kube-image-bouncer: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `kube-image-bouncer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  }
}
