import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli-run';
import { codeBlocks, readmeSection } from './support/readme';

/** Revisions are hashes of policy files; the README shows them but need not follow every edit. */
const maskRevisions = (text: string): string => text.replace(/revision [0-9a-f]{12}\b/g, 'revision <hash>');

/**
 * Every `console` block in the README's sections on the one-shot commands is a real run: the
 * command after `$`, then exactly what it prints (stdout and stderr).
 */
describe.each([
  ['Generating the certificates and apiserver files (`setup`)'],
  ['Checking manifests before they reach the cluster (`check`)'],
  ['Explaining a decision (`explain`)'],
])("the README's section %s", (heading) => {
  const runs = codeBlocks(readmeSection(heading), 'console').map((block) => {
    const [command, ...output] = block.split('\n');
    return { command, output: output.join('\n') };
  });

  it('shows runs', () => expect(runs.length).toBeGreaterThan(0));

  it.each(runs)('$command', ({ command, output }) => {
    const [, args, stdin] = /^\$ kube-image-bouncer (.+?)(?: < (\S+))?$/.exec(command)!;
    // setup writes files: run it where it cannot meet earlier output.
    const cwd = args.startsWith('setup') ? mkdtempSync(join(tmpdir(), 'readme-setup-')) : undefined;
    const input = stdin ? readFileSync(stdin, 'utf8') : undefined;
    const run = runCli(args.split(' '), { cwd, input });
    expect(maskRevisions(run.stdout + run.stderr)).toBe(maskRevisions(output));
  });
});
