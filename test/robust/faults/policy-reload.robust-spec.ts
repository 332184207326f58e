import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually } from '../../support/eventually';
import { TestPki, createTestPki } from '../../support/test-pki';
import { BouncerUnderTest, WORKERS, startBouncer } from '../support/bouncer-under-test';
import { keepAliveAgent, oneShotAgent, postReview } from '../support/review-client';
import { LoadRun, describeFailures, failures, refusals, runLoad } from '../support/review-load';
import { defaultPolicyMix, imageReviewCase } from '../support/review-mix';
import { recordResults } from '../support/results';
import { scaled } from '../support/robust-mode';

const RELOADS = scaled(6, 20);
/** Far beyond what a reload takes (well under a second, even loaded): a point to give up, not a bound asserted. */
const GIVE_UP_MS = 30_000;

/** Edition `n` denies tag `v<n>` as well as latest: each edition decides one image differently from the last. */
const policy = (n: number): string => `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata:
  name: edition-${n}
spec:
  rules:
    - name: no-latest
      disallowedTags: [latest, v${n}]
`;
/** What /readyz reports for a policy file's text (src/policy/policy-file/image-policy.compiler.ts). */
const revisionOf = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** A ConfigMap volume: policy.yaml -> ..data/policy.yaml, ..data -> ..<version>, swapped atomically. */
class ConfigMapVolume {
  private version = 0;
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, 'policy.yaml');
  }

  swap(text: string): void {
    const version = `..v${++this.version}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'policy.yaml'), text);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.version === 1) symlinkSync(join('..data', 'policy.yaml'), this.path);
  }

  /** An edit through the symlink, into the ..v<N>/ directory. */
  overwrite(text: string): void {
    writeFileSync(this.path, text);
  }
}

/**
 * The policy edited again and again while reviews arrive: no review of the load may be decided
 * wrongly (every edition agrees on them), every worker must come to enforce each edition, as each
 * reports in /readyz, and then reviews on new connections must be decided by it.
 */
describe('fault: the policy reloaded during load', () => {
  let pki: TestPki;
  let volume: ConfigMapVolume;
  let bouncer: BouncerUnderTest;

  beforeAll(async () => {
    pki = await createTestPki();
    volume = new ConfigMapVolume(mkdtempSync(join(tmpdir(), 'policy-configmap-')));
    volume.swap(policy(0));
    bouncer = await startBouncer({ pki, policyPath: volume.path });
  });
  afterAll(() => bouncer.stop());

  it(`decides every review rightly through ${RELOADS} reloads, and every worker comes to enforce each edition`, async () => {
    const agent = keepAliveAgent(pki, 8);
    const oneShot = oneShotAgent(pki);
    let reloading = true;
    const load: Promise<LoadRun> = runLoad({
      port: bouncer.port,
      rate: 300,
      durationMs: 600_000,
      cases: defaultPolicyMix(),
      agent,
      oneShot: { agent: oneShot, every: 5 },
      until: () => !reloading,
    });
    const reloads: { how: string; everyWorkerWithinMs: number; wrongDecisions: string[] }[] = [];
    try {
      await delay(500);
      for (let n = 1; n <= RELOADS; n++) {
        const how = n % 2 === 1 ? 'configmap swap' : 'rewritten in place';
        const text = policy(n);
        const written = Date.now();
        if (n % 2 === 1) volume.swap(text);
        else volume.overwrite(text);
        await eventually(
          `every worker to enforce edition ${n} (${how})`,
          async () => {
            const all = await bouncer.workers();
            if (all.length !== WORKERS || all.some((w) => w.policyRevision !== revisionOf(text)))
              throw new Error(JSON.stringify(all));
          },
          { timeoutMs: GIVE_UP_MS, intervalMs: 25 },
        );
        const everyWorkerWithinMs = Date.now() - written;
        // Every worker reports the edition: so must every decision from now on, whichever worker makes it.
        const probes = [
          imageReviewCase(`edition ${n} denies v${n}`, [`acme/app:v${n}`], false),
          imageReviewCase(`edition ${n} allows v${n - 1}`, [`acme/app:v${n - 1}`], true),
        ];
        const wrongDecisions: string[] = [];
        for (let c = 0; c < 2 * WORKERS; c++) {
          for (const probe of probes) {
            const wrong = probe.judge(
              await postReview({ agent: oneShot, port: bouncer.port, path: probe.path, body: probe.body }),
            );
            if (wrong !== undefined) wrongDecisions.push(wrong);
          }
        }
        reloads.push({ how, everyWorkerWithinMs, wrongDecisions });
      }
    } finally {
      reloading = false;
    }
    const run = await load;
    agent.destroy();
    oneShot.destroy();
    const applied = await bouncer.metric('kube_image_bouncer_policy_reloads_total', { result: 'applied' });
    const ready = await bouncer.readyz();

    recordResults('faultPolicyReload', {
      reloads: reloads.map(({ how, everyWorkerWithinMs }) => ({ how, everyWorkerWithinMs })),
      requests: run.sent,
      skippedByTheClient: run.skipped,
      failures: describeFailures([...failures(run), ...refusals(run)]),
      reloadsApplied: applied,
    });

    expect(describeFailures([...failures(run), ...refusals(run)])).toEqual([]);
    expect(run.records).toHaveLength(run.sent);
    expect(reloads.flatMap((r) => r.wrongDecisions)).toEqual([]);
    // Every worker enforced each edit before the next; the cluster counts each edit once.
    expect(applied).toBe(RELOADS);
    expect(ready).toMatchObject({ status: 200, body: { converged: true } });
  });
});
