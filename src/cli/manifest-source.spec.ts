import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandInputError } from './command-input.error';
import { STDIN, readManifests } from './manifest-source';

const POD =
  'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - {name: web, image: nginx}\n';
const noStdin = (): string => {
  throw new Error('stdin was not asked for');
};

/** The problems of inputs that must be refused, one line each. */
function problemsOf(inputs: string[], stdin = noStdin): readonly string[] {
  try {
    readManifests(inputs, stdin);
  } catch (error) {
    if (error instanceof CommandInputError) return error.problems;
    throw error;
  }
  throw new Error('expected the input to be refused');
}

describe(readManifests.name, () => {
  const directory = (): string => mkdtempSync(join(tmpdir(), 'manifests-'));

  it('walks a directory recursively, in name order, reading only .yaml, .yml and .json', () => {
    const dir = directory();
    mkdirSync(join(dir, 'b-sub'));
    for (const name of ['c.yml', 'a.yaml', 'b-sub/z.JSON', 'README.md', 'kustomization.yaml.bak'])
      writeFileSync(join(dir, name), POD);
    symlinkSync(join(dir, 'b-sub'), join(dir, 'link-to-sub'));

    expect(readManifests([dir], noStdin).files).toEqual([
      join(dir, 'a.yaml'),
      join(dir, 'b-sub', 'z.JSON'),
      join(dir, 'c.yml'),
    ]);
  });

  it('reads a file named explicitly whatever its extension, and each input once', () => {
    const file = join(directory(), 'rendered.txt');
    writeFileSync(file, POD);
    expect(readManifests([file, file], noStdin).files).toEqual([file]);
  });

  it('numbers documents from 1, empty ones included, and keeps the chart template of helm output', () => {
    const text = '---\n# Source: app/templates/empty.yaml\n---\n# Source: app/templates/pod.yaml\n' + POD;
    const { files, documents } = readManifests(['-'], () => text);
    expect(files).toEqual([STDIN]);
    expect(documents.map((d) => [d.file, d.index, d.helmSource, d.value === null])).toEqual([
      [STDIN, 1, undefined, true],
      [STDIN, 2, 'app/templates/pod.yaml', false],
    ]);
  });

  it('locates a node by its path, and falls back to the start of the document', () => {
    const [, second] = readManifests(['-'], () => `kind: Namespace\n---\n${POD}`).documents;
    expect(second.locate(['spec', 'containers', 0, 'image'])).toEqual({ line: 8, column: 26 });
    expect(second.locate(['spec', 'initContainers', 0, 'image'])).toEqual({ line: 3, column: 1 });
  });

  it('parses JSON, with lines', () => {
    const json = JSON.stringify(
      { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'w', image: 'nginx' }] } },
      null,
      2,
    );
    const [document] = readManifests(['-'], () => json).documents;
    expect(document.value).toMatchObject({ kind: 'Pod' });
    expect(document.locate(['spec', 'containers', 0, 'image']).line).toBe(8);
  });

  it('refuses to expand an alias bomb ("billion laughs")', () => {
    // Each level refers ten times to the one before: 10^5 strings from six short lines.
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [previous, next] of ['ab', 'bc', 'cd', 'de', 'ef'])
      levels.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    expect(problemsOf(['-'], () => levels.join('\n'))).toEqual([
      '<stdin>:1: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it('reports every input it cannot read, each with file and line, before anything is checked', () => {
    const dir = directory();
    writeFileSync(join(dir, 'bad.yaml'), `${POD}---\nkind: Pod\nmetadata: {name: [x}\n`);
    writeFileSync(join(dir, 'dup.yaml'), 'kind: Pod\nkind: Deployment\n');
    expect(problemsOf([join(dir, 'missing.yaml'), dir])).toEqual([
      `${join(dir, 'missing.yaml')}: no such file or directory`,
      `${join(dir, 'bad.yaml')}:9: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${join(dir, 'dup.yaml')}:2: Map keys must be unique`,
    ]);
  });
});
