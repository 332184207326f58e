import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../support/cli-run';
import { readmeSection } from '../support/readme';
import { Crane, LocalRegistry, goTool, startRegistry } from './support/local-registry';
import { writePolicy } from './support/pinning-client';

/**
 * docs/supply-chain.md's signing steps, run as written: its `cosign` commands, with the image it
 * names replaced by one pushed to a loopback registry, and `--allow-insecure-registry` added because
 * that registry speaks plain HTTP. Nothing else is reachable from here, sigstore's transparency log
 * included: the steps must sign offline, and what they sign must be admitted.
 */
describe("docs/supply-chain.md's signing steps, offline", () => {
  const section = readmeSection("Requiring your CI's cosign signature, step by step", 'docs/supply-chain.md');
  // The steps are a numbered list, so their code blocks are indented.
  const commands = [...section.matchAll(/^( *)```sh\n([\s\S]*?)^\1```/gm)]
    .flatMap(([, , block]) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('cosign '));
  let registry: LocalRegistry;
  let digest: string;
  const work = mkdtempSync(join(tmpdir(), 'kib-docs-cosign-'));

  beforeAll(async () => {
    registry = await startRegistry();
    digest = await new Crane().push(`${registry.host}/shop/app:1.4`, 'signed as the docs say');
  }, 300_000);
  afterAll(() => registry.stop());

  it('are a key pair and a signature that uploads to no transparency log', () => {
    expect(commands).toEqual([
      'cosign generate-key-pair',
      'cosign sign --key cosign.key --tlog-upload=false --yes registry.example.com/shop/app@sha256:<digest>',
    ]);
  });

  it('sign an image that a verifySignatures rule with the public key then admits', () => {
    const cosign = goTool('cosign');
    for (const command of commands) {
      const args = command
        .split(' ')
        .slice(1)
        .map((arg) =>
          arg.replace('registry.example.com/shop/app@sha256:<digest>', `${registry.host}/shop/app@${digest}`),
        );
      if (args[0] === 'sign') args.splice(1, 0, '--allow-insecure-registry');
      execFileSync(cosign, args, {
        cwd: work,
        env: { ...process.env, COSIGN_PASSWORD: '', DOCKER_CONFIG: work, SIGSTORE_NO_CACHE: '1' },
        stdio: 'pipe',
        timeout: 120_000,
      });
    }
    const policy = writePolicy(
      `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed-by-ci\n    verifySignatures:\n      keys: [cosign.pub]`,
    );
    copyFileSync(join(work, 'cosign.pub'), join(dirname(policy), 'cosign.pub'));
    const explained = runCli(['explain', `${registry.host}/shop/app:1.4`, '--policy', policy]);
    expect(explained.stdout).toMatch(/signed-by-ci: digest sha256:[0-9a-f]{64}, verified/);
    expect(explained.stdout).toContain('decision   allow\n');
  });
});
