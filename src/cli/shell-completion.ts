import { Argument, Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a value is completed from: files, directories, a fixed list, or nothing (any text). */
type Completion = { readonly files: 'files' | 'directories' } | { readonly words: readonly string[] } | null;

interface CompletedOption {
  readonly short?: string;
  readonly long: string;
  readonly description: string;
  /** Absent for a flag without a value. */
  readonly value?: { readonly name: string; readonly completion: Completion };
  readonly repeatable: boolean;
}

interface CompletedCommand {
  readonly name: string;
  readonly description: string;
  readonly options: readonly CompletedOption[];
  /** The positional arguments, in order; the last may be variadic. */
  readonly args: readonly { readonly name: string; readonly completion: Completion; variadic: boolean }[];
}

const HELP: CompletedOption = { short: '-h', long: '--help', description: 'show help', repeatable: false };

/** Values named `<file>`, `<path>` or `<dir>` in the help are paths; choices are words. */
function completionOf(name: string, choices: readonly string[] | undefined): Completion {
  if (choices) return { words: choices };
  if (/^(file|path)$/.test(name)) return { files: 'files' };
  if (/^dir/.test(name)) return { files: 'directories' };
  return null;
}

function completedOption(option: Option): CompletedOption {
  const name = /<([^>.]+)/.exec(option.flags)?.[1];
  return {
    short: option.short,
    long: option.long!,
    description: option.description,
    value: name === undefined ? undefined : { name, completion: completionOf(name, option.argChoices) },
    repeatable: option.variadic || Array.isArray(option.defaultValue),
  };
}

/**
 * The program's commands and options, read from commander so that completion follows the CLI as
 * it grows. `help` is commander's own and has no Command object; it takes a command's name.
 */
function completedCommands(program: Command): CompletedCommand[] {
  const commands = program.commands.map((command): CompletedCommand => ({
    name: command.name(),
    description: command.description(),
    options: [...command.options.map(completedOption), HELP],
    args: command.registeredArguments.map((argument: Argument) => ({
      name: argument.name(),
      completion: completionOf(argument.name(), argument.argChoices),
      variadic: argument.variadic,
    })),
  }));
  const names = commands.map((command) => command.name);
  return [
    ...commands,
    {
      name: 'help',
      description: 'show help for a command',
      options: [],
      args: [{ name: 'command', completion: { words: names }, variadic: false }],
    },
  ];
}

const flagsOf = (option: CompletedOption): string[] =>
  option.short ? [option.short, option.long] : [option.long];

function bashCompletion(program: Command, commands: readonly CompletedCommand[]): string {
  const name = program.name();
  const fn = `_${name.replace(/-/g, '_')}`;
  const reply = (completion: Completion): string =>
    completion === null
      ? 'return'
      : 'words' in completion
        ? `COMPREPLY=($(compgen -W "${completion.words.join(' ')}" -- "$cur")); return`
        : `COMPREPLY=($(compgen ${completion.files === 'files' ? '-f' : '-d'} -- "$cur")); return`;
  const valueCases = commands.flatMap((command) =>
    command.options
      .filter((option) => option.value)
      .map(
        (option) =>
          `    ${flagsOf(option)
            .map((flag) => `"${command.name} ${flag}"`)
            .join('|')}) ${reply(option.value!.completion)} ;;`,
      ),
  );
  const optionCases = commands.map(
    (command) =>
      `      ${command.name}) COMPREPLY=($(compgen -W "${command.options.flatMap(flagsOf).join(' ')}" -- "$cur")) ;;`,
  );
  const argCases = commands
    .filter((command) => command.args.some((arg) => arg.completion !== null))
    .map((command) => `    ${command.name}) ${reply(command.args[0].completion)} ;;`);
  return `# ${name} completion for bash. Load it in this shell with
#   source <(${name} completion bash)
# or for every shell with
#   ${name} completion bash > /etc/bash_completion.d/${name}
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command=serve
  if (( COMP_CWORD == 1 )) && [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -W "${commands.map((command) => command.name).join(' ')}" -- "$cur"))
    return
  fi
  # Without a command word, the flags are serve's, as the CLI reads them.
  [[ \${COMP_WORDS[1]} != -* ]] && command=\${COMP_WORDS[1]}
  case "$command $prev" in
${valueCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    case $command in
${optionCases.join('\n')}
    esac
    return
  fi
  case $command in
${argCases.join('\n')}
  esac
}
complete -o filenames -F ${fn} ${name}
`;
}

/** Single-quoted for zsh. */
const zshQuoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** An option's description as an _arguments spec shows it: brackets and backslashes escaped. */
const zshDescription = (text: string): string => `[${text.replace(/[[\]\\]/g, (c) => `\\${c}`)}]`;

function zshAction(completion: Completion): string {
  if (completion === null) return ' ';
  if ('words' in completion) return `(${completion.words.join(' ')})`;
  return completion.files === 'files' ? '_files' : '_files -/';
}

function zshCompletion(program: Command, commands: readonly CompletedCommand[]): string {
  const name = program.name();
  const fn = `_${name.replace(/-/g, '_')}`;
  const optionSpec = (option: CompletedOption): string => {
    const flags = flagsOf(option);
    const exclusive = option.repeatable ? "'*'" : flags.length > 1 ? `'(${flags.join(' ')})'` : '';
    const names = flags.length > 1 ? `{${flags.join(',')}}` : flags[0];
    const value = option.value ? `:${option.value.name}:${zshAction(option.value.completion)}` : '';
    return `${exclusive}${names}${zshQuoted(`${zshDescription(option.description)}${value}`)}`;
  };
  const argSpec = (arg: CompletedCommand['args'][number]): string =>
    zshQuoted(`${arg.variadic ? '*' : ''}:${arg.name}:${zshAction(arg.completion)}`);
  const cases = commands.map((command) =>
    [
      `    ${command.name})`,
      `      _arguments -s \\`,
      ...[...command.options.map(optionSpec), ...command.args.map(argSpec)].map(
        (spec) => `        ${spec} \\`,
      ),
      `        && return 0`,
      `      ;;`,
    ].join('\n'),
  );
  return `#compdef ${name}
# ${name} completion for zsh. Load it in this shell with
#   source <(${name} completion zsh)
# or for every shell: save it as _${name} in a directory of $fpath.
${fn}() {
  local -a commands
  commands=(
${commands.map((command) => `    ${zshQuoted(`${command.name}:${command.description.replace(/:/g, '\\:')}`)}`).join('\n')}
  )
  local command=serve
  if (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then
    _describe -t commands 'command' commands
    return
  fi
  # Without a command word, the flags are serve's, as the CLI reads them.
  if [[ $words[2] != -* ]]; then
    command=$words[2]
    shift words
    (( CURRENT-- ))
  fi
  case $command in
${cases.join('\n')}
  esac
}
if [[ "$funcstack[1]" == "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}

const fishQuoted = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishCompletion(program: Command, commands: readonly CompletedCommand[]): string {
  const name = program.name();
  const lines = [
    `# ${name} completion for fish. Load it in this shell with`,
    `#   ${name} completion fish | source`,
    `# or for every shell with`,
    `#   ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -f`,
    ...commands.map(
      (command) =>
        `complete -c ${name} -n __fish_use_subcommand -a ${command.name} -d ${fishQuoted(command.description)}`,
    ),
  ];
  const valueFlags = (completion: Completion): string =>
    completion === null
      ? '-x'
      : 'words' in completion
        ? `-x -a ${fishQuoted(completion.words.join(' '))}`
        : completion.files === 'files'
          ? '-r -F'
          : `-x -a '(__fish_complete_directories)'`;
  for (const command of commands) {
    // Without a command word, the flags are serve's, as the CLI reads them.
    const condition =
      command.name === 'serve'
        ? `'__fish_use_subcommand; or __fish_seen_subcommand_from serve'`
        : `'__fish_seen_subcommand_from ${command.name}'`;
    for (const option of command.options) {
      const flags = [
        option.short ? `-s ${option.short.slice(1)}` : '',
        `-l ${option.long.slice(2)}`,
        option.value ? valueFlags(option.value.completion) : '',
        `-d ${fishQuoted(option.description)}`,
      ].filter(Boolean);
      lines.push(`complete -c ${name} -n ${condition} ${flags.join(' ')}`);
    }
    const [arg] = command.args;
    if (arg?.completion)
      lines.push(`complete -c ${name} -n ${condition} ${valueFlags(arg.completion).replace(/^-x /, '')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A completion script for the shell, generated from the program's own commands and options. */
export function completionScript(program: Command, shell: Shell): string {
  const commands = completedCommands(program);
  switch (shell) {
    case 'bash':
      return bashCompletion(program, commands);
    case 'zsh':
      return zshCompletion(program, commands);
    case 'fish':
      return fishCompletion(program, commands);
  }
}
