import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { unreadableFileProblem } from '../../config';

/** Why a file could not be read, in words as every other file error says it, never an errno code. */
function unreadableReason(path: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such file or directory';
  // Closed to this process, or not a regular file: said with its mode, owner and who asked.
  const problem = unreadableFileProblem(path);
  const prefix = `cannot read file ${JSON.stringify(path)}: `;
  return problem?.startsWith(prefix) ? problem.slice(prefix.length) : error.message;
}

/**
 * The files a policy names (CA bundles, registry credentials, public keys). They are read while
 * the policy compiles, hashed into its revision, and watched with it, so a rotated Secret changes
 * the revision and can never be judged under the verdicts of the old one. A relative path is
 * relative to the policy file, as kubeconfig paths are.
 */
export class ReferencedFiles {
  private readonly read = new Map<string, string>();

  constructor(
    private readonly policySource: string,
    /** Texts already in hand, from the watcher that saw them change; anything else is read from disk. */
    private readonly known: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The absolute path a policy value names. */
  resolve(path: string): string {
    return isAbsolute(path) ? path : resolve(dirname(this.policySource), path);
  }

  /** The file's text; throws an Error whose message says why it cannot be read. */
  text(path: string): string {
    const absolute = this.resolve(path);
    let text = this.read.get(absolute) ?? this.known.get(absolute);
    if (text === undefined) {
      try {
        text = readFileSync(absolute, 'utf8');
      } catch (error) {
        throw new Error(
          `cannot read file ${JSON.stringify(path)}: ${unreadableReason(absolute, error as NodeJS.ErrnoException)}`,
        );
      }
    }
    this.read.set(absolute, text);
    return text;
  }

  /** Every file read, by absolute path, in the order first read. */
  get contents(): ReadonlyMap<string, string> {
    return this.read;
  }
}
