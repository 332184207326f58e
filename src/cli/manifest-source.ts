import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Document, LineCounter, isNode, parseAllDocuments } from 'yaml';
import { CommandInputError } from './command-input.error';

/** How `-f -` appears in reports. */
export const STDIN = '<stdin>';
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
// `helm template` heads every document with the template it came from.
const HELM_SOURCE = /^\s*Source:\s*(\S.*?)\s*$/m;

export type ManifestPath = readonly (string | number)[];

/** One YAML document of an input, with the means to say on which line a node of it is. */
export interface ManifestDocument {
  /** The path as given, or found by walking a directory; `<stdin>` for `-`. */
  readonly file: string;
  /** 1-based position among the file's `---`-separated documents, empty ones included. */
  readonly index: number;
  readonly value: unknown;
  /** The chart template a `helm template` document came from. */
  readonly helmSource?: string;
  /** 1-based line and column of the node at `path`; the document's start when there is none. */
  locate(path: ManifestPath): { line: number; column: number };
}

export interface ManifestInput {
  readonly files: readonly string[];
  readonly documents: readonly ManifestDocument[];
}

/** Files under a directory with a manifest extension, in a stable order, recursively. */
function walk(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      // Symbolic links to directories are not followed, so a link cycle cannot loop forever.
      if (entry.isDirectory()) return walk(path);
      if (!MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) return [];
      return entry.isFile() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile())
        ? [path]
        : [];
    });
}

const reason = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code === 'ENOENT'
    ? 'no such file or directory'
    : ((error as Error).message ?? String(error));

function parseDocuments(file: string, text: string, problems: string[]): ManifestDocument[] {
  const lineCounter = new LineCounter();
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const documents: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const manifests: ManifestDocument[] = [];
  documents.forEach((document, i) => {
    // One mistake often trips several parser errors; the first says where it is.
    const [error] = document.errors;
    if (error) {
      problems.push(`${file}:${position(error.pos[0]).line}: ${error.message.split('\n')[0]}`);
      return;
    }
    const contents = document.contents;
    const start = contents?.range?.[0] ?? document.range[0];
    let value: unknown;
    try {
      // Bounded, so that a "billion laughs" of aliases is refused rather than expanded.
      value = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push(`${file}:${position(start).line}: ${(error as Error).message}`);
      return;
    }
    manifests.push({
      file,
      index: i + 1,
      value,
      helmSource: HELM_SOURCE.exec(contents?.commentBefore ?? document.commentBefore ?? '')?.[1],
      locate(path) {
        const node = path.length === 0 ? contents : document.getIn(path, true);
        return position(isNode(node) && node.range ? node.range[0] : start);
      },
    });
  });
  return manifests;
}

/**
 * Reads every `-f` input: files, directories (walked recursively for .yaml, .yml and .json) and
 * `-` (stdin, read once). Multi-document YAML and JSON both parse, JSON being YAML. Every input
 * that cannot be read or parsed is reported, with its line, before anything is checked: a partial
 * report could pass for a clean one.
 */
export function readManifests(inputs: readonly string[], readStdin: () => string): ManifestInput {
  const problems: string[] = [];
  const files: string[] = [];
  const documents: ManifestDocument[] = [];
  const read = (file: string): void => {
    // A file named on its own and again inside a directory given is read once.
    if (files.includes(file)) return;
    files.push(file);
    let text: string;
    try {
      text = file === STDIN ? readStdin() : readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${file}: ${reason(error)}`);
      return;
    }
    documents.push(...parseDocuments(file, text, problems));
  };
  for (const input of new Set(inputs)) {
    if (input === '-') {
      read(STDIN);
      continue;
    }
    let found: string[];
    try {
      found = statSync(input).isDirectory() ? walk(input) : [input];
    } catch (error) {
      problems.push(`${input}: ${reason(error)}`);
      continue;
    }
    found.forEach(read);
  }
  if (problems.length > 0) throw new CommandInputError('cannot read the manifests:', problems);
  return { files, documents };
}
