export type PolicyPath = readonly (string | number)[];

export interface PolicyProblem {
  readonly path: PolicyPath;
  readonly message: string;
  readonly line?: number;
}

/** `spec.rules[1].enforcement`, as the user navigates their file. */
export function formatPolicyPath(path: PolicyPath): string {
  return path.reduce<string>(
    (text, step) => (typeof step === 'number' ? `${text}[${step}]` : text === '' ? step : `${text}.${step}`),
    '',
  );
}

/** A policy that cannot be used. Each problem names the file, line and key path, like a compiler does. */
export class InvalidPolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly PolicyProblem[],
  ) {
    super(
      `invalid image policy ${source}:\n` +
        problems
          .map(({ path, line, message }) => {
            const where = `${source}${line === undefined ? '' : `:${line}`}`;
            const key = formatPolicyPath(path);
            return `  ${where}: ${key === '' ? '' : `${key} `}${message}`;
          })
          .join('\n'),
    );
    this.name = 'InvalidPolicyError';
  }
}
