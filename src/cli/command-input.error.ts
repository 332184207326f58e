/**
 * Input a command cannot use: a manifest that does not parse, an output directory that already
 * holds the files. The CLI prints the message and exits 2, as it does for bad flags.
 */
export class CommandInputError extends Error {
  constructor(
    readonly summary: string,
    readonly problems: readonly string[] = [],
  ) {
    super([summary, ...problems.map((problem) => `  ${problem}`)].join('\n'));
    this.name = 'CommandInputError';
  }
}
