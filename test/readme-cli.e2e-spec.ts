import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podSpecKinds } from '../src/admission/pod-spec';
import { runCli } from './support/cli-run';
import { DOCUMENT_PATHS, codeBlocks, codeSpans, readmeSection, tableAfter } from './support/readme';

const UPDATE = process.env.UPDATE_README === '1';

/**
 * Every `console` block of the CLI in the README and docs/ is a real run: the command after `$`,
 * then exactly what it prints (stdout and stderr), policy revisions included, so that no example
 * drifts from the program. `UPDATE_README=1` writes what the commands print now into the files.
 * Blocks of other programs (kubectl, against a cluster) are pinned by the conformance tier instead.
 */
describe("the documents' console blocks", () => {
  const runs = DOCUMENT_PATHS.flatMap((path) =>
    codeBlocks(readFileSync(path, 'utf8'), 'console')
      .filter((block) => block.startsWith('$ kube-image-bouncer '))
      .map((block) => {
        const [command, ...output] = block.split('\n');
        return { path, block, command, output: output.join('\n') };
      }),
  );
  const updated: { path: string; block: string; actual: string }[] = [];

  afterAll(() => {
    if (!UPDATE) return;
    for (const path of DOCUMENT_PATHS) {
      let text = readFileSync(path, 'utf8');
      for (const { block, actual } of updated.filter((u) => u.path === path))
        text = text.replace(block, actual);
      writeFileSync(path, text);
    }
  });

  it('are many, each one command of the CLI', () => {
    expect(runs.length).toBeGreaterThan(8);
    for (const { command } of runs) expect(command).toMatch(/^\$ kube-image-bouncer /);
  });

  it.each(runs)('$command', ({ path, block, command, output }) => {
    const [, args, stdin] = /^\$ kube-image-bouncer (.+?)(?: < (\S+))?$/.exec(command)!;
    // setup writes files: run it where it cannot meet earlier output.
    const cwd = args.startsWith('setup') ? mkdtempSync(join(tmpdir(), 'readme-setup-')) : undefined;
    const input = stdin ? readFileSync(stdin, 'utf8') : undefined;
    const run = runCli(args.split(' '), { cwd, input });
    const actual = run.stdout + run.stderr;
    if (UPDATE) updated.push({ path, block, actual: `${command}\n${actual}` });
    else expect(actual).toBe(output);
  });
});

describe("docs/cli.md's policy test section", () => {
  it('shows examples/image-policy.test.yaml verbatim', () => {
    expect(codeBlocks(readmeSection('Testing a policy (`test`)', 'docs/cli.md'), 'yaml')[0]).toBe(
      readFileSync(join(__dirname, '..', 'examples', 'image-policy.test.yaml'), 'utf8'),
    );
  });
});

describe("docs/apiserver.md's table of where each kind keeps its pod spec", () => {
  const section = readmeSection(
    'Connecting the kube-apiserver (ValidatingAdmissionWebhook)',
    'docs/apiserver.md',
  );
  const rows = tableAfter(section, 'What the webhook reads');

  it('is the table the webhook, check and test read, row for row', () => {
    const shown = rows.flatMap(([group, kinds, path]) =>
      codeSpans(kinds)
        .filter((kind) => /^[A-Z]/.test(kind))
        .map((kind) => ({
          group: group === 'core' ? '' : codeSpans(group)[0],
          kind,
          specPath: codeSpans(path)[0].split('.'),
        })),
    );
    expect(shown).toEqual(podSpecKinds());
  });
});
