import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { web } from '../../support/reviews';
import { eventually } from '../../support/eventually';
import { TestPki, createTestPki } from '../../support/test-pki';
import { BouncerUnderTest, WORKERS, startBouncer } from '../support/bouncer-under-test';
import { keepAliveAgent, postReview } from '../support/review-client';
import { LoadRun, describeFailures, failures, refusals, runLoad } from '../support/review-load';
import { admissionReviewCase, imageReviewCase } from '../support/review-mix';
import { recordResults } from '../support/results';

/** Far beyond what a reload takes, even loaded: a point to give up, not a bound asserted. */
const GIVE_UP_MS = 30_000;

const POLICY = `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata:
  name: in-force
spec:
  rules:
    - name: no-latest
      disallowedTags: [latest]
    - name: no-unknown-hub
      deniedRepositories: ["docker.io/randomuser/**"]
`;

/** What a broken deploy, a torn write or a hostile edit can leave in the file. */
const CORRUPTIONS: readonly (readonly [string, string | Buffer])[] = [
  // First, while yaml's regular expressions are fresh: the pair that aborted Node 20.
  ['flow collections nested 100,000 deep', '['.repeat(100_000) + ']'.repeat(100_000)],
  [
    'block sequences nested 5,000 deep',
    Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i)}- `).join('\n'),
  ],
  ['random bytes', randomBytes(4096)],
  ['YAML that does not parse', `${POLICY}    - name: [unclosed\n`],
  ['a typo the schema refuses', POLICY.replace('deniedRepositories', 'deniedRepository')],
  ['an empty file', ''],
  ['a write torn inside a key', POLICY.slice(0, POLICY.indexOf('deniedRepositories') + 6)],
  ['JSON of the wrong shape', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', data: {} })],
  [
    'a YAML alias bomb',
    Array.from(
      { length: 9 },
      (_, i) =>
        `l${i}: &l${i} [${Array(9)
          .fill(i === 0 ? 'lol' : `*l${i - 1}`)
          .join(', ')}]`,
    ).join('\n'),
  ],
];

/**
 * A corrupted policy file written while the apiserver is sending reviews: the policy in force must
 * stay in force, decision for decision, and the server must go on answering and watching the file.
 */
describe('fault: a corrupted policy file written during load', () => {
  let pki: TestPki;
  let bouncer: BouncerUnderTest;
  let policyPath: string;

  /** As a ConfigMap update or an editor does it: write aside, rename over. */
  const publish = (content: string | Buffer): void => {
    writeFileSync(`${policyPath}.next`, content);
    renameSync(`${policyPath}.next`, policyPath);
  };

  beforeAll(async () => {
    pki = await createTestPki();
    policyPath = join(mkdtempSync(join(tmpdir(), 'policy-corruption-')), 'policy.yaml');
    writeFileSync(policyPath, POLICY);
    // Each worker watches the file itself, so each refuses each corruption; each says so at debug
    // (the primary logs it, and counts it, once), which is how the test sees every worker refuse.
    bouncer = await startBouncer({ pki, policyPath, extraArgs: ['--log-level', 'debug'] });
  });
  afterAll(() => bouncer.stop());

  it('keeps deciding by the last good policy through every corruption, then applies a good one', async () => {
    /** Refused reloads so far; NaN once the health port no longer answers. */
    const refused = (): Promise<number> =>
      bouncer
        .metric('kube_image_bouncer_policy_reloads_total', { result: 'refused' })
        .catch(() => Number.NaN);
    /** Refusals the workers said at debug, one per worker per corruption. */
    const workerRefusals = (): number =>
      bouncer
        .log()
        .split('\n')
        .filter((line) => line.includes('"level":"debug"') && line.includes('"context":"PolicyStore"'))
        .length;
    const revisionInForce = async (): Promise<unknown> =>
      ((await bouncer.readyz()).body.info as { policy: { revision: string } }).policy.revision;
    const revision = await revisionInForce();
    const cases = [
      imageReviewCase('a repository the policy denies', ['randomuser/miner:1'], false),
      imageReviewCase('a pinned image', ['nginx:1.25'], true),
      imageReviewCase('an untagged image', ['nginx'], false),
      admissionReviewCase(
        'a pod from a denied repository',
        { podSpec: web('docker.io/randomuser/x:2') },
        false,
      ),
      admissionReviewCase('a pinned pod', { podSpec: web('nginx:1.25') }, true),
    ];
    const agent = keepAliveAgent(pki, 8);
    let corrupting = true;
    const seen: { corruption: string; refusedAfter: number }[] = [];

    const load: Promise<LoadRun> = runLoad({
      port: bouncer.port,
      rate: 200,
      durationMs: 120_000,
      cases,
      agent,
      until: () => !corrupting,
    });
    try {
      await delay(500);
      for (const [name, content] of CORRUPTIONS) {
        const before = workerRefusals();
        publish(content);
        // Each corruption is seen and refused by every worker before the next: a watch event or the
        // next poll. The metric counts each corruption once, however many workers refused it.
        const deadline = Date.now() + GIVE_UP_MS;
        while (bouncer.running() && workerRefusals() < before + WORKERS && Date.now() < deadline)
          await delay(50);
        // A scrape asks each worker over the channel its report came by: every report is in by then.
        const refusedAfter = await refused();
        if (Number.isNaN(refusedAfter))
          throw new Error(`the bouncer stopped answering after ${name}:\n${bouncer.log().slice(-1_500)}`);
        seen.push({ corruption: name, refusedAfter });
        await delay(300);
      }
    } finally {
      corrupting = false;
    }
    const run = await load;
    const refusedInTotal = await refused();
    const revisionAfter = await revisionInForce();

    // The watchers still work: a good policy that also denies nginx:1.25 is applied by every worker.
    const good = POLICY.replace('"docker.io/randomuser/**"', '"docker.io/randomuser/**", "nginx:1.25"');
    publish(good);
    const goodRevision = createHash('sha256').update(good).digest('hex').slice(0, 12);
    await eventually(
      'every worker to enforce the good policy',
      async () => {
        const all = await bouncer.workers();
        if (all.length !== WORKERS || all.some((w) => w.policyRevision !== goodRevision))
          throw new Error(JSON.stringify(all));
      },
      { timeoutMs: GIVE_UP_MS, intervalMs: 50 },
    );
    const pinned = await Promise.all(
      Array.from({ length: 2 * WORKERS }, async () =>
        cases[1].judge(await postReview({ agent, port: bouncer.port, path: '/policy', body: cases[1].body })),
      ),
    );
    agent.destroy();

    recordResults('faultPolicyCorruption', {
      corruptions: CORRUPTIONS.map(([name]) => name),
      requests: run.sent,
      skippedByTheClient: run.skipped,
      failures: describeFailures([...failures(run), ...refusals(run)]),
      refusedReloads: refusedInTotal,
    });

    expect(bouncer.running()).toBe(true);
    expect(describeFailures([...failures(run), ...refusals(run)])).toEqual([]);
    // One corruption, one refusal counted, though every worker refused it.
    expect(seen).toEqual(CORRUPTIONS.map(([corruption], i) => ({ corruption, refusedAfter: i + 1 })));
    expect(revisionAfter).toBe(revision);
    const deniedNow: unknown = expect.stringMatching(/allowed=false, expected true/);
    expect(pinned).toEqual(pinned.map(() => deniedNow));
  });
});
