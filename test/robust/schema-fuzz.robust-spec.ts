import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestPki, createTestPki } from '../support/test-pki';
import { BouncerUnderTest, startBouncer } from './support/bouncer-under-test';
import { recordResults } from './support/results';
import { scaled } from './support/robust-mode';

const ROOT = join(__dirname, '..', '..');
const OPENAPI = join(ROOT, 'docs', 'openapi.yaml');
const CONFIG = join(__dirname, 'schemathesis.toml');
const MAX_EXAMPLES = scaled(300, 2_000);
const SEED = Number(process.env.ROBUST_SEED ?? 20_261_126);

function run(command: string, args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, output }));
  });
}

/**
 * schemathesis (from PyPI, installed into a cache by schemathesis.sh) generates requests from
 * docs/openapi.yaml, valid and invalid, and checks each answer of the built CLI against the same
 * document: no 5xx, only documented statuses and content types, bodies that match their schemas,
 * valid requests accepted and invalid ImageReviews refused (see schemathesis.toml).
 */
describe('schema fuzzing with schemathesis against docs/openapi.yaml', () => {
  let pki: TestPki;
  let bouncer: BouncerUnderTest;
  let schemathesis: string;

  beforeAll(async () => {
    schemathesis = execFileSync('bash', [join(__dirname, 'schemathesis.sh')], { encoding: 'utf8' }).trim();
    pki = await createTestPki();
    writeFileSync(join(pki.dir, 'client.crt'), pki.client.certificatePem);
    writeFileSync(join(pki.dir, 'client.key'), pki.client.privateKeyPem);
    bouncer = await startBouncer({ pki });
  }, 300_000);
  afterAll(() => bouncer?.stop());

  it(
    'finds no failing check on any operation',
    async () => {
      const { status, output } = await run(schemathesis, [
        '--config-file',
        CONFIG,
        'run',
        OPENAPI,
        '--url',
        `https://127.0.0.1:${bouncer.port}`,
        '--tls-verify',
        pki.paths.caCert,
        '--request-cert',
        join(pki.dir, 'client.crt'),
        '--request-cert-key',
        join(pki.dir, 'client.key'),
        '--max-examples',
        String(MAX_EXAMPLES),
        '--seed',
        String(SEED),
        '--workers',
        '2',
      ]);
      const summary = output
        .split('\n')
        .filter((line) => /test cases|passed|failed|Seed|operations|errors?\b/i.test(line))
        .map((line) => line.trim());
      recordResults('schemaFuzz', { maxExamples: MAX_EXAMPLES, seed: SEED, exitStatus: status, summary });

      expect({ status, output: status === 0 ? '' : output }).toEqual({ status: 0, output: '' });
      expect(bouncer.running()).toBe(true);
    },
    scaled(300_000, 1_800_000),
  );
});
