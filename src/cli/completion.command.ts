import { Argument, Command } from 'commander';
import { SHELLS, Shell, completionScript } from './shell-completion';

/** `completion bash|zsh|fish`: the script for the program it is added to. */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(kube-image-bouncer completion bash)
  source <(kube-image-bouncer completion zsh)
  kube-image-bouncer completion fish | source`,
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program(), shell));
    });
}
