import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli } from '../support/cli-run';
import { Cosign } from './support/cosign';
import { Crane, LocalRegistry, startRegistry } from './support/local-registry';
import { writePolicy } from './support/pinning-client';

/**
 * `explain` and `check` with registry-aware policies, against a real registry: explain shows the
 * pin, the digest, each signature found and what verified it; check stays offline unless asked and
 * says what it skipped; `check --online` judges as the webhooks would, pinning first.
 */
describe('the CLI with registry-aware policies, against a real registry', () => {
  let registry: LocalRegistry;
  let policy: string;
  let signed: string;
  let unsigned: string;
  let manifests: string;
  const repo = (name: string): string => `${registry.host}/demo/${name}`;

  beforeAll(async () => {
    registry = await startRegistry();
    const crane = new Crane();
    signed = await crane.push(`${repo('signed')}:v1`, 'signed');
    unsigned = await crane.push(`${repo('unsigned')}:v1`, 'unsigned');
    const cosign = new Cosign();
    const key = await cosign.generateKeyPair('ci');
    await cosign.sign(`${repo('signed')}@${signed}`, 'ci');
    policy = writePolicy(
      `registries:\n  - {host: "${registry.host}", insecure: true}\npinDigests: true\nrules:\n  - name: signed-by-ci\n    verifySignatures:\n      keys: [cosign.pub]`,
    );
    copyFileSync(key, join(dirname(policy), 'cosign.pub'));
    manifests = join(dirname(policy), 'pods.yaml');
    writeFileSync(
      manifests,
      ['signed', 'unsigned']
        .map(
          (name) =>
            `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n    - name: app\n      image: ${repo(name)}:v1\n`,
        )
        .join('---\n'),
    );
  }, 300_000);
  afterAll(() => registry.stop());

  it('explains an image: pinned as /mutate would, its digest verified, naming the key and the cache', () => {
    const { status, stdout } = runCli(['explain', `${repo('signed')}:v1`, '--policy', policy]);
    expect(status).toBe(0);
    expect(stdout).toContain(
      `pinned as   ${repo('signed')}:v1@${signed} by /mutate (registry ${registry.host}, `,
    );
    expect(stdout).toMatch(
      new RegExp(
        `signed-by-ci: digest ${signed}, verified, \\d+ ms, cache miss\\n  sig tag  verified by key sha256:[0-9a-f]{16} \\(cosign\\.pub\\)`,
      ),
    );
    expect(stdout).toContain('decision   allow\n');
  });

  it('explains why an unsigned image is denied, in JSON too', () => {
    const { stdout } = runCli(['explain', `${repo('unsigned')}:v1`, '--policy', policy, '-o', 'json']);
    const explanation = JSON.parse(stdout) as {
      pinning: { pinned: string };
      rules: {
        verification: {
          verified: boolean;
          reason: string;
          digest: string;
          cache: string;
          evidence: unknown[];
        };
      }[];
      decision: { allowed: boolean; violations: string[] };
    };
    expect(explanation.pinning.pinned).toBe(`${repo('unsigned')}:v1@${unsigned}`);
    expect(explanation.rules[0].verification).toMatchObject({
      verified: false,
      reason: 'no signature',
      digest: unsigned,
      cache: 'miss',
      evidence: [],
    });
    expect(explanation.decision).toEqual({
      allowed: false,
      exemptNamespace: null,
      violations: [
        `image ${repo('unsigned')}:v1@${unsigned} has no verified signature: no signature (rule signed-by-ci)`,
      ],
      warnings: [],
    });
  });

  it('explains offline when asked, showing the rule skipped', () => {
    const { stdout } = runCli(['explain', `${repo('unsigned')}:v1`, '--policy', policy, '--offline']);
    expect(stdout).toContain(
      'signed-by-ci  verifySignatures  enforce      skipped: needs the registry (run online)',
    );
    expect(stdout).not.toContain('pinned as');
  });

  it('checks offline by default, passing over nothing in silence', () => {
    const { status, stdout } = runCli(['check', '-f', manifests, '--policy', policy]);
    expect(status).toBe(0);
    expect(stdout).toContain(
      'skipped what needs the registry (run with --online to do it as the webhook does): rule signed-by-ci (verifySignatures) for 2 images; digest pinning for 2 images (judged as pinned, as /mutate would pin them)',
    );
  });

  it('checks online as the webhooks would: pinned, then verified', () => {
    const { status, stdout } = runCli([
      'check',
      '-f',
      manifests,
      '--policy',
      policy,
      '--online',
      '-o',
      'json',
    ]);
    expect(status).toBe(1);
    const report = JSON.parse(stdout) as {
      summary: { denied: number; allowed: number };
      findings: { name: string; image: string; message: string }[];
      registrySkipped: unknown;
    };
    expect(report.summary).toMatchObject({ denied: 1, allowed: 1 });
    expect(report.findings.map(({ name, image, message }) => [name, image, message])).toEqual([
      ['unsigned', `${repo('unsigned')}:v1@${unsigned}`, 'has no verified signature: no signature'],
    ]);
    expect(report.registrySkipped).toEqual({ rules: [], pinning: 0 });
  });
});
