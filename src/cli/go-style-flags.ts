/**
 * The original bouncer was a Go program, and Go's flag package takes long flags with one dash:
 * `kube-image-bouncer -cert server.cert -key server.key`. Rewrites such tokens to `--cert` for the
 * long options the CLI knows, so deployments written for the original keep working. Short flags
 * (`-p`), unknown tokens and everything after `--` pass through unchanged.
 */
export function acceptGoStyleFlags(args: readonly string[], longOptions: ReadonlySet<string>): string[] {
  const end = args.indexOf('--');
  return args.map((arg, index) => {
    if (end !== -1 && index >= end) return arg;
    const match = /^-([a-z][a-z0-9-]+)(=.*)?$/i.exec(arg);
    return match && longOptions.has(`--${match[1]}`) ? `-${arg}` : arg;
  });
}
