/** One challenge of a `WWW-Authenticate` header: its scheme and its parameters. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The challenges of a `WWW-Authenticate` header (RFC 7235): `Bearer realm="…",service="…",
 * scope="repository:app:pull"`, or `Basic realm="…"`. Quoted values may hold commas and escaped
 * quotes; scheme names compare case-insensitively, so they are returned in lower case.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  const token = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)/y;
  let at = 0;
  const skip = (pattern: RegExp): boolean => {
    pattern.lastIndex = at;
    const match = pattern.exec(header);
    if (match) at = pattern.lastIndex;
    return match !== null;
  };
  while (at < header.length) {
    skip(/[\s,]*/y);
    token.lastIndex = at;
    const scheme = token.exec(header);
    if (!scheme) break;
    at = token.lastIndex;
    const challenge = { scheme: scheme[1].toLowerCase(), params: {} as Record<string, string> };
    challenges.push(challenge);
    for (;;) {
      const start = at;
      skip(/\s*,?\s*/y);
      const param = /([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]*)/y;
      param.lastIndex = at;
      const match = param.exec(header);
      if (!match) {
        at = start;
        break;
      }
      at = param.lastIndex;
      challenge.params[match[1].toLowerCase()] =
        match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : match[2];
    }
  }
  return challenges;
}
