import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { IssuedCertificate, issueCertificate } from '../../../src/tls/certificate-issuer';
import { eventually } from '../../support/eventually';
import { TestPki, createTestPki } from '../../support/test-pki';
import { BouncerUnderTest, WORKERS, WorkerState, startBouncer } from '../support/bouncer-under-test';
import { keepAliveAgent, oneShotAgent, servedFingerprint } from '../support/review-client';
import { LoadRun, describeFailures, failures, refusals, runLoad } from '../support/review-load';
import { defaultPolicyMix } from '../support/review-mix';
import { recordResults } from '../support/results';
import { scaled } from '../support/robust-mode';

const ROTATIONS = scaled(6, 20);
/** Far beyond what a rotation takes (under 0.2 s), even loaded: a point to give up, not a bound asserted. */
const GIVE_UP_MS = 30_000;

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

  /**
   * As a careless script does it: the certificate rewritten in place, the key a moment later. Through
   * the symlinks, into the ..v<N>/ directory: the case a worker once saw only at its own poll.
   */
  overwrite(pair: IssuedCertificate): void {
    writeFileSync(this.certPath, pair.certificatePem);
    writeFileSync(this.keyPath, pair.privateKeyPem);
  }
}

/**
 * The serving certificate rotated, again and again, while reviews arrive on keep-alive connections
 * and on fresh ones: no review may fail, every worker must come to serve each new pair (as each
 * reports in /readyz, not as whichever one a connection happens to reach), and then every new
 * handshake must verify, against the CA, with that pair.
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

  it(`serves every review through ${ROTATIONS} rotations, and every worker comes to serve each new certificate`, async () => {
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
    const rotations: {
      how: string;
      everyWorkerWithinMs: number;
      workers: WorkerState[];
      newConnectionsSaw: string[];
    }[] = [];
    try {
      await delay(500);
      for (const [i, pair] of pairs.entries()) {
        const how = i % 2 === 0 ? 'secret volume swap' : 'rewritten in place';
        const written = Date.now();
        if (i % 2 === 0) volume.swap(pair);
        else volume.overwrite(pair);
        const workers = await eventually(
          `every worker to serve rotation ${i} (${how})`,
          async () => {
            const all = await bouncer.workers();
            if (all.length !== WORKERS || all.some((w) => w.fingerprint256 !== pair.fingerprint256))
              throw new Error(JSON.stringify(all));
            return all;
          },
          { timeoutMs: GIVE_UP_MS, intervalMs: 25 },
        );
        const everyWorkerWithinMs = Date.now() - written;
        // Every worker reports the new pair: so must every connection from now on, whichever it reaches.
        const seen = new Set<string>();
        for (let c = 0; c < 2 * WORKERS; c++) seen.add(await servedFingerprint(bouncer.port, pki));
        rotations.push({ how, everyWorkerWithinMs, workers, newConnectionsSaw: [...seen] });
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
    const ready = await bouncer.readyz();

    recordResults('faultCertificateRotation', {
      rotations: rotations.map(({ how, everyWorkerWithinMs }) => ({ how, everyWorkerWithinMs })),
      requests: run.sent,
      skippedByTheClient: run.skipped,
      failures: describeFailures([...failures(run), ...refusals(run)]),
      rotationsApplied: applied,
    });

    expect(describeFailures([...failures(run), ...refusals(run)])).toEqual([]);
    expect(run.records).toHaveLength(run.sent);
    expect(rotations.map((r) => r.newConnectionsSaw)).toEqual(pairs.map((p) => [p.fingerprint256]));
    // Each worker applied each pair (the next rotation waited for all of them to serve it), and the
    // cluster counts each rotation once, however many workers applied it.
    expect(applied).toBe(ROTATIONS);
    expect(ready).toMatchObject({ status: 200, body: { converged: true } });
  });
});
