import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:tls';
import { IssuedCertificate, issueCertificate } from '../../../src/tls/certificate-issuer';
import { TestPki, createTestPki } from '../../support/test-pki';
import { BouncerUnderTest, startBouncer } from '../support/bouncer-under-test';
import { apiserverTls, keepAliveAgent, oneShotAgent } from '../support/review-client';
import { LoadRun, describeFailures, failures, refusals, runLoad } from '../support/review-load';
import { defaultPolicyMix } from '../support/review-mix';
import { recordResults } from '../support/results';
import { scaled } from '../support/robust-mode';

const ROTATIONS = scaled(6, 20);

/** A Kubernetes secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<version>, swapped atomically. */
class SecretVolume {
  private version = 0;
  readonly certPath: string;
  readonly keyPath: string;

  constructor(readonly dir: string) {
    this.certPath = join(dir, 'tls.crt');
    this.keyPath = join(dir, 'tls.key');
  }

  /** As the kubelet updates a secret: a new version directory, then one rename of ..data. */
  swap(pair: IssuedCertificate): void {
    const version = `..v${++this.version}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'tls.crt'), pair.certificatePem);
    writeFileSync(join(this.dir, version, 'tls.key'), pair.privateKeyPem);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.version === 1) {
      symlinkSync(join('..data', 'tls.crt'), this.certPath);
      symlinkSync(join('..data', 'tls.key'), this.keyPath);
    }
  }

  /** As a careless script does it: the certificate rewritten in place, the key a moment later. */
  overwrite(pair: IssuedCertificate): void {
    writeFileSync(this.certPath, pair.certificatePem);
    writeFileSync(this.keyPath, pair.privateKeyPem);
  }
}

/** The certificate a brand-new connection is shown, verified against the CA and 127.0.0.1. */
function servedFingerprint(port: number, pki: TestPki): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...apiserverTls(pki) }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw).fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/**
 * The serving certificate rotated, again and again, while reviews arrive on keep-alive connections
 * and on fresh ones: no review may fail, and each new handshake must verify, against the CA, with
 * the pair in force.
 */
describe('fault: the certificate rotated during load', () => {
  let pki: TestPki;
  let volume: SecretVolume;
  let bouncer: BouncerUnderTest;
  let pairs: IssuedCertificate[];

  beforeAll(async () => {
    pki = await createTestPki();
    volume = new SecretVolume(mkdtempSync(join(tmpdir(), 'tls-secret-')));
    volume.swap(pki.server);
    pairs = [];
    for (let i = 0; i < ROTATIONS; i++) {
      pairs.push(
        await issueCertificate(pki.ca, {
          commonName: `rotated-${i}`,
          usages: ['server'],
          ipAddresses: ['127.0.0.1'],
        }),
      );
    }
    bouncer = await startBouncer({
      pki,
      certificate: { certPath: volume.certPath, keyPath: volume.keyPath },
    });
  });
  afterAll(() => bouncer.stop());

  it(`serves every review through ${ROTATIONS} rotations, and new connections get each new certificate`, async () => {
    const agent = keepAliveAgent(pki, 8);
    const oneShot = oneShotAgent(pki);
    let rotating = true;
    const load: Promise<LoadRun> = runLoad({
      port: bouncer.port,
      rate: 300,
      durationMs: 600_000,
      cases: defaultPolicyMix(),
      agent,
      oneShot: { agent: oneShot, every: 5 },
      until: () => !rotating,
    });
    const rotations: { how: string; servedWithinMs: number | null }[] = [];
    try {
      await delay(500);
      for (const [i, pair] of pairs.entries()) {
        const how = i % 2 === 0 ? 'secret volume swap' : 'rewritten in place';
        if (i % 2 === 0) volume.swap(pair);
        else volume.overwrite(pair);
        const started = Date.now();
        let served = await servedFingerprint(bouncer.port, pki);
        while (served !== pair.fingerprint256 && Date.now() - started < 10_000) {
          await delay(25);
          served = await servedFingerprint(bouncer.port, pki);
        }
        rotations.push({ how, servedWithinMs: served === pair.fingerprint256 ? Date.now() - started : null });
        await delay(500);
      }
    } finally {
      rotating = false;
    }
    const run = await load;
    agent.destroy();
    oneShot.destroy();
    const applied = await bouncer.metric('kube_image_bouncer_certificate_rotations_total', {
      result: 'applied',
    });

    recordResults('faultCertificateRotation', {
      rotations,
      requests: run.records.length,
      failures: describeFailures([...failures(run), ...refusals(run)]),
      rotationsApplied: applied,
    });

    expect(describeFailures([...failures(run), ...refusals(run)])).toEqual([]);
    expect(rotations.filter((r) => r.servedWithinMs === null)).toEqual([]);
    expect(applied).toBeGreaterThanOrEqual(ROTATIONS);
    expect(await servedFingerprint(bouncer.port, pki)).toBe(pairs[pairs.length - 1].fingerprint256);
  });
});
