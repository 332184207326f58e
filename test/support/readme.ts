import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const README_PATH = join(ROOT, 'README.md');

/** The README and the reference it links to in docs/: the documents whose examples are checked. */
export const DOCUMENT_PATHS: readonly string[] = [
  README_PATH,
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(ROOT, 'docs', name)),
];

/** The text of a `## ` section of a document (the README unless named), up to the next one. */
export function readmeSection(heading: string, document = 'README.md'): string {
  const text = readFileSync(join(ROOT, document), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${document} has no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** Every fenced block of the given language in `text` ('' for blocks with no language). */
export function codeBlocks(text: string, language: string): string[] {
  const blocks: string[] = [];
  let open: { language: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('```')) {
      open?.lines.push(line);
    } else if (open) {
      if (open.language === language) blocks.push(`${open.lines.join('\n')}\n`);
      open = undefined;
    } else {
      open = { language: line.slice(3).trim(), lines: [] };
    }
  }
  return blocks;
}

/** Rows of the first Markdown table after the line containing `caption`, as cell arrays (header excluded). */
export function tableAfter(text: string, caption: string): string[][] {
  const lines = text.slice(text.indexOf(caption)).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** `nginx:1.25`, `a`, `b` → ['nginx:1.25', 'a', 'b']: the code spans of a cell. */
export const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
