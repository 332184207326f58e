import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DISTRIBUTION_REFERENCE } from './upstream';

describe('DISTRIBUTION_REFERENCE', () => {
  it('is the release every upstream link of the port names', () => {
    const links = readdirSync(__dirname)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [
        ...readFileSync(join(__dirname, file), 'utf8').matchAll(
          /github\.com\/distribution\/reference\/blob\/([^/]+)\//g,
        ),
      ])
      .map((match) => match[1]);
    expect(links.length).toBeGreaterThan(5);
    expect(new Set(links)).toEqual(new Set([DISTRIBUTION_REFERENCE.version]));
  });
});
