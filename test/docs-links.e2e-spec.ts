import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DOCUMENT_PATHS } from './support/readme';

const ROOT = join(__dirname, '..');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

const anchorsIn = (path: string): Set<string> =>
  new Set([...readFileSync(path, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));

describe('the links of the README and docs/', () => {
  const links = [...DOCUMENT_PATHS, join(ROOT, 'SECURITY.md'), join(ROOT, 'CHANGELOG.md')].flatMap((path) =>
    [...readFileSync(path, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1])
      .filter((target) => !/^(https?:|mailto:)/.test(target))
      .map((target) => ({ from: relative(ROOT, path), target })),
  );

  it('are many', () => {
    expect(links.length).toBeGreaterThan(30);
  });

  it('lead to files and headings that exist', () => {
    const broken = links.filter(({ from, target }) => {
      const [file, anchor] = target.split('#');
      const path = file === '' ? join(ROOT, from) : join(ROOT, dirname(from), file);
      if (!existsSync(path)) return true;
      return anchor !== undefined && path.endsWith('.md') && !anchorsIn(path).has(anchor);
    });
    expect(broken).toEqual([]);
  });
});
