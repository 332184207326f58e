import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Document, LineCounter, isCollection, isNode, parseAllDocuments, visit } from 'yaml';
import { CommandInputError } from './command-input.error';

/** How `-f -` appears in reports. */
export const STDIN = '<stdin>';
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
// `helm template` heads every document with the template it came from.
const HELM_SOURCE = /^\s*Source:\s*(\S.*?)\s*$/m;
const UNRENDERED_HELM =
  'this looks like an unrendered Helm template: check what `helm template` renders instead';

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
  /** Each `-f` as given, with how many files it named and how many non-empty documents they held. */
  readonly sources: readonly { readonly input: string; readonly files: number; readonly documents: number }[];
}

/** Files under a directory with a manifest extension (.yaml, .yml, .json), in a stable order, recursively. */
export function walk(directory: string): string[] {
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

/**
 * The first mapping key that is itself a collection. Kubernetes objects never have one, but an
 * unrendered Helm template does: `{{ .Values.image }}` is, to YAML, a flow mapping whose key is a
 * flow mapping, which the yaml library would stringify with a process warning.
 */
function templateExpression(
  document: Document.Parsed,
  text: string,
): { offset: number; text: string } | undefined {
  let found: { offset: number; text: string } | undefined;
  visit(document, {
    Pair(_, pair) {
      if (!isCollection(pair.key) || !pair.key.range) return undefined;
      // The key `{ .Values.image }` sits inside the `{{ ... }}` the template author wrote.
      const [start, end] = pair.key.range;
      const outer = text.slice(Math.max(0, start - 1), end + 1);
      found = /^\{\{[\s\S]*\}\}$/.test(outer)
        ? { offset: start - 1, text: outer.replace(/\s+/g, ' ') }
        : { offset: start, text: JSON.stringify(text.slice(start, end)) };
      return visit.BREAK;
    },
  });
  return found;
}

function parseDocuments(file: string, text: string, problems: string[]): ManifestDocument[] {
  const lineCounter = new LineCounter();
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // logLevel 'error': what yaml would otherwise print as a Node warning is found and said here.
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  const documents: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const manifests: ManifestDocument[] = [];
  documents.forEach((document, i) => {
    // One mistake often trips several parser errors; the first says where it is.
    const [error] = document.errors;
    if (error) {
      const { line } = position(error.pos[0]);
      const helm = text.split('\n')[line - 1]?.includes('{{') ? `; ${UNRENDERED_HELM}` : '';
      problems.push(`${file}:${line}: ${error.message.split('\n')[0]}${helm}`);
      return;
    }
    const template = templateExpression(document, text);
    if (template) {
      problems.push(
        `${file}:${position(template.offset).line}: ${template.text} is a template expression; ${UNRENDERED_HELM}`,
      );
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
  const sources: { input: string; files: number; documents: number }[] = [];
  /** The non-empty documents of the file. */
  const read = (file: string): number => {
    // A file named on its own and again inside a directory given is read once.
    if (files.includes(file)) return 0;
    files.push(file);
    let text: string;
    try {
      text = file === STDIN ? readStdin() : readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${file}: ${reason(error)}`);
      return 0;
    }
    const parsed = parseDocuments(file, text, problems);
    documents.push(...parsed);
    return parsed.filter((document) => document.value !== null && document.value !== undefined).length;
  };
  const count = (found: readonly string[]): number => found.reduce((sum, file) => sum + read(file), 0);
  for (const input of new Set(inputs)) {
    if (input === '-') {
      sources.push({ input, files: 1, documents: count([STDIN]) });
      continue;
    }
    let found: string[];
    try {
      found = statSync(input).isDirectory() ? walk(input) : [input];
    } catch (error) {
      problems.push(`${input}: ${reason(error)}`);
      continue;
    }
    sources.push({ input, files: found.length, documents: count(found) });
  }
  if (problems.length > 0) throw new CommandInputError('cannot read the manifests:', problems);
  return { files, documents, sources };
}
