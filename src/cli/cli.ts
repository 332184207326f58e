import { Command, CommanderError } from 'commander';
import { InvalidConfigError, closestName } from '../config';
import { WorkerStartError } from '../cluster';
import { InvalidPolicyError } from '../policy';
import { ListenError } from '../server';
import { TlsMaterialError } from '../tls';
import { checkCommand } from './check.command';
import { CommandInputError } from './command-input.error';
import { completionCommand } from './completion.command';
import { doctorCommand } from './doctor.command';
import { explainCommand } from './explain.command';
import { reviewCommand } from './review.command';
import { acceptGoStyleFlags } from './go-style-flags';
import { packageVersion } from '../version';
import { serveCommand } from './serve.command';
import { setupCommand } from './setup.command';
import { testCommand } from './test.command';
import { versionCommand } from './version.command';

/** Exit status for a usage or configuration mistake, as distinct from a runtime failure (1). */
export const EXIT_USAGE = 2;

/** The program's own flags; any other flag before a command word is serve's. */
const PROGRAM_FLAGS = new Set(['-h', '--help', '-v', '--version']);

/** Commander puts its suggestion on a second line; one error is one line. */
const oneLine = (text: string): string =>
  text.replace(/\n\(Did you mean (.+?)\?\)\n?$/, ' (did you mean $1?)\n');

export function buildCli(): Command {
  const program = new Command('kube-image-bouncer')
    .description('Kubernetes image admission webhook: decides which container images may run')
    .version(packageVersion(), '-v, --version')
    .addHelpText(
      'after',
      `
Without a command, kube-image-bouncer serves: \`kube-image-bouncer -cert server.crt -key server.key\`
(the original's Go-style flags) is \`kube-image-bouncer serve --cert server.crt --key server.key\`.`,
    );
  const commands = [
    serveCommand(),
    checkCommand(),
    doctorCommand(),
    explainCommand(),
    reviewCommand(),
    setupCommand(),
    testCommand(),
    versionCommand(),
    completionCommand(() => program),
  ];
  for (const command of [program, ...commands]) {
    command.exitOverride().configureOutput({ outputError: (text, write) => write(oneLine(text)) });
    if (command !== program) program.addCommand(command);
  }
  return program;
}

function longOptions(program: Command): Set<string> {
  const all = [program, ...program.commands].flatMap((command) => command.options.map((o) => o.long));
  return new Set(all.filter((long): long is string => long !== undefined));
}

/** A first word that names no command: refused, with the command it most likely meant. */
class UnknownCommandError extends Error {
  constructor(word: string, commands: readonly string[]) {
    const meant = closestName(word, commands);
    super(
      `unknown command ${JSON.stringify(word)}` +
        (meant ? ` (did you mean ${JSON.stringify(meant)}?)` : ` (commands: ${commands.join(', ')})`),
    );
  }
}

/**
 * The words as commander should read them. `serve` is the command for no words at all and for
 * flags alone, so the original's `kube-image-bouncer -cert ... -key ...` still serves; any other
 * first word must name a command. (Commander's own default command would take every unknown word
 * as serve's argument, and answer `version` or `servee` with "too many arguments for 'serve'".)
 */
export function namedCommandLine(args: readonly string[], program: Command): string[] {
  const [first] = args;
  if (first === undefined) return ['serve'];
  if (first.startsWith('-')) return PROGRAM_FLAGS.has(first) ? [...args] : ['serve', ...args];
  const commands = [...program.commands.map((command) => command.name()), 'help'];
  if (!commands.includes(first)) throw new UnknownCommandError(first, commands);
  // Commander answers `help nosuch` with the program's help; the word is as unknown as it is alone.
  const asked = args[1];
  if (first === 'help' && asked !== undefined && !asked.startsWith('-') && !commands.includes(asked))
    throw new UnknownCommandError(asked, commands);
  return [...args];
}

/** Mistakes in what the user gave: flags, files, an address this machine cannot listen on. */
const USAGE_ERRORS = [
  InvalidConfigError,
  TlsMaterialError,
  InvalidPolicyError,
  CommandInputError,
  ListenError,
];

/** What the user is told, one line per problem, each starting with the program's name. */
function errorLines(error: Error): string {
  const problems = error instanceof InvalidConfigError ? error.problems : [error.message];
  return problems.map((problem) => `kube-image-bouncer: ${problem}\n`).join('');
}

export async function runCli(argv: readonly string[]): Promise<void> {
  // `kube-image-bouncer check --help | head`: a reader that stops early is not an error to report
  // with a stack trace. (The server logs through its own stream, which this leaves alone.)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const program = buildCli();
  try {
    const args = namedCommandLine(acceptGoStyleFlags(argv.slice(2), longOptions(program)), program);
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (error instanceof UnknownCommandError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (USAGE_ERRORS.some((type) => error instanceof type)) {
      process.stderr.write(errorLines(error as Error));
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof WorkerStartError) {
      process.stderr.write(`kube-image-bouncer: ${error.message}\n`);
      process.exitCode = error.usage ? EXIT_USAGE : 1;
    } else {
      process.stderr.write(
        `kube-image-bouncer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  }
}
