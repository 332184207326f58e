import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { CosignWriter, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { POD_KIND, admissionReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';

const LEDGER = 'ledger-v1.jsonl';

/** A line as the ledger writes it, with the JSON changed to `json` and a checksum made by `checksum`. */
const relined = (
  line: string,
  change: (json: string) => string,
  checksum: (json: string) => string,
): string => {
  const json = change(line.slice(65));
  return `${checksum(json)} ${json}`;
};

// Whoever can write the ledger's volume (but not read its key) tries to make the bouncer admit a
// digest that was never verified, during an outage, or to crash or hang it at start. Every attempt
// must end the same way: the bouncer serves, /readyz says admission from the ledger is off, and
// nothing is admitted from it, not even the digest that was honestly verified.
describe('a hostile ledger file', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const signer = keyPair();
  let pki: TestPki;
  let folder: string;
  let ledgerDir: string;
  let policyPath: string;
  let server: RunningWebhookServer | undefined;
  let verified: string;
  let neverVerified: string;
  let honestLine: string;

  const validate = async (image: string): Promise<boolean> => {
    const { body } = await request(server!.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'c', image }] }) }))
      .expect(200);
    return (body as { response: { allowed: boolean } }).response.allowed;
  };

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    await registry.start();
    const digest = cosign.image('demo/app', 'signed');
    cosign.pushSignatures('demo/app', digest, [
      cosign.classicSignature('demo/app', digest, signer.privateKey),
    ]);
    verified = `${registry.host}/demo/app@${digest}`;
    neverVerified = `${registry.host}/demo/app@${cosign.image('demo/app', 'unsigned')}`;
  });

  beforeEach(async () => {
    registry.behaviour = 'serve';
    folder = mkdtempSync(join(tmpdir(), 'kib-hostile-ledger-'));
    ledgerDir = join(folder, 'ledger');
    policyPath = join(folder, 'policy.yaml');
    writeFileSync(join(folder, 'cosign.pub'), signer.publicPem);
    writeFileSync(
      policyPath,
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: hostile-ledger}
spec:
  registries: [{host: "${registry.host}", insecure: true}]
  registryTimeoutSeconds: 2
  rules:
    - name: signed
      verifySignatures: {keys: [cosign.pub]}
`,
    );
    server = await startTestServer(pki, { policyPath, ledgerDir });
    expect(await validate(verified)).toBe(true);
    await server.close();
    honestLine = readFileSync(join(ledgerDir, LEDGER), 'utf8').split('\n')[0];
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  afterAll(() => registry.stop());

  const forNeverVerified = (json: string): string =>
    json.replace(verified.split('@')[1], neverVerified.split('@')[1]);

  it.each<[string, (path: string) => void]>([
    ['truncated in the middle of a record', (path) => truncateSync(path, Math.floor(honestLine.length / 2))],
    [
      'one bit flipped',
      (path) => {
        const bytes = readFileSync(path);
        bytes[100] ^= 0x01;
        writeFileSync(path, bytes);
      },
    ],
    [
      'a record for a digest never verified, its checksum left as it was',
      (path) =>
        writeFileSync(path, `${relined(honestLine, forNeverVerified, () => honestLine.slice(0, 64))}\n`),
    ],
    [
      'a record forged with a plain SHA-256 checksum, without the key',
      (path) =>
        writeFileSync(
          path,
          `${relined(honestLine, forNeverVerified, (json) => createHash('sha256').update(json).digest('hex'))}\n`,
        ),
    ],
    [
      'a record forged under a key of its own',
      (path) =>
        writeFileSync(
          path,
          `${relined(honestLine, forNeverVerified, (json) => createHmac('sha256', 'k'.repeat(64)).update(json).digest('hex'))}\n`,
        ),
    ],
    ['more than 64 MiB (sparse, never read)', (path) => truncateSync(path, 65 * 1024 * 1024)],
    [
      'a FIFO in its place, which would never end',
      (path) => {
        rmSync(path);
        execFileSync('mkfifo', [path]);
      },
    ],
    [
      'a symbolic link to /dev/zero',
      (path) => {
        rmSync(path);
        symlinkSync('/dev/zero', path);
      },
    ],
    [
      'one line longer than any record',
      (path) => writeFileSync(path, `${'0'.repeat(64)} ${'{'.repeat(1 << 20)}\n`),
    ],
  ])('%s: the bouncer serves, says so in /readyz, and admits nothing from it', async (_, damage) => {
    damage(join(ledgerDir, LEDGER));
    registry.behaviour = 'fail';

    server = await startTestServer(pki, { policyPath, ledgerDir });
    const ready = await request(server.tlsServer).get('/readyz').ca(pki.ca.certificatePem);

    expect(ready.status).toBe(200);
    expect((ready.body as { info: { ledger: Record<string, unknown> } }).info.ledger).toMatchObject({
      admission: 'off',
      warning: expect.stringContaining('the ledger is damaged') as unknown,
    });
    expect(await validate(neverVerified)).toBe(false);
    expect(await validate(verified)).toBe(false);
  });

  it('an honest ledger, for contrast: the verified digest is admitted, the other is not', async () => {
    registry.behaviour = 'fail';
    server = await startTestServer(pki, { policyPath, ledgerDir });

    expect(await validate(verified)).toBe(true);
    expect(await validate(neverVerified)).toBe(false);
  });
});
