import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Log } from 'sarif';
import { runCli } from './support/cli-run';

const MANIFESTS = 'test/fixtures/manifests';
const ROLLOUT_POLICY = 'test/fixtures/policies/rollout.yaml';
const BREAK_GLASS_POLICY = 'test/fixtures/policies/break-glass.yaml';
const revisionOf = (file: string): string =>
  createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);

describe('kube-image-bouncer check', () => {
  describe('the table, with the built-in policy', () => {
    it('walks a directory: multi-document YAML, a kind: List, a CronJob with initContainers, JSON', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/app`])).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                                       DOC         NAMESPACE  RESOURCE                CONTAINER       IMAGE                                      RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/app/cronjob.yaml:17    1           reporting  CronJob/nightly-report  migrate (init)  registry.example.com/tools/migrate:latest  no-latest  enforce      uses the latest tag
test/fixtures/manifests/app/list.yaml:15       1.items[0]  default    Pod/cache               redis           redis                                      no-latest  enforce      uses the latest tag
test/fixtures/manifests/app/multi-doc.yaml:30  2           shop       Deployment/storefront   log-shipper     fluent/fluent-bit                          no-latest  enforce      uses the latest tag

checked 5 pod specs in 7 documents from 4 files against policy default (revision 3e42b1e38d1b): 3 denied, 0 allowed with warnings, 2 allowed
skipped 4 objects with no pod spec at a place the webhook knows: Service (2), Namespace (1), ConfigMap (1)
`,
      });
    });

    it('reads helm template output on stdin, naming the chart template of each finding', () => {
      const helm = readFileSync(`${MANIFESTS}/helm-output.yaml`, 'utf8');
      expect(runCli(['check', '-f', '-'], { input: helm })).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                                     DOC  NAMESPACE  RESOURCE                 CONTAINER           IMAGE    RULE       ENFORCEMENT  MESSAGE
<stdin>:49 (shop/templates/deployment.yaml)  4    default    Deployment/release-shop  wait-for-db (init)  busybox  no-latest  enforce      uses the latest tag

checked 1 pod spec in 4 documents from 1 file against policy default (revision 3e42b1e38d1b): 1 denied, 0 allowed with warnings, 0 allowed
skipped 2 objects with no pod spec at a place the webhook knows: ServiceAccount (1), Service (1)
`,
      });
    });

    it('checks an Argo Rollout and a Knative Service, and lists the kinds it skipped', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/crds.yaml`])).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                              DOC  NAMESPACE  RESOURCE          CONTAINER  IMAGE                  RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/crds.yaml:18  1    shop       Rollout/checkout  checkout   ghcr.io/acme/checkout  no-latest  enforce      uses the latest tag

checked 2 pod specs in 4 documents from 1 file against policy default (revision 3e42b1e38d1b): 1 denied, 0 allowed with warnings, 1 allowed
skipped 2 objects with no pod spec at a place the webhook knows: example.com/Widget (1), Service (1)
`,
      });
    });

    it('takes files and directories without -f, as -f takes them, and both together', () => {
      const withFlag = runCli(['check', '-f', `${MANIFESTS}/app`]);
      expect(runCli(['check', `${MANIFESTS}/app`])).toEqual(withFlag);
      const both = runCli([
        'check',
        `${MANIFESTS}/app/list.yaml`,
        '-f',
        `${MANIFESTS}/crds.yaml`,
        '-o',
        'json',
      ]);
      expect(JSON.parse(both.stdout)).toMatchObject({ summary: { files: 2, podSpecs: 4 } });
      expect(
        runCli(['check', '-'], { input: readFileSync(`${MANIFESTS}/helm-output.yaml`, 'utf8') }),
      ).toEqual(
        runCli(['check', '-f', '-'], { input: readFileSync(`${MANIFESTS}/helm-output.yaml`, 'utf8') }),
      );
    });

    it('judges image volumes, which the kubelet pulls like a container image, naming the volume', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/image-volumes`])).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                                           DOC  NAMESPACE  RESOURCE          CONTAINER               IMAGE                                   RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/image-volumes/pod.yaml:16  1    ml         Pod/model-server  weights (image volume)  registry.example.com/ml/weights:latest  no-latest  enforce      uses the latest tag

checked 1 pod spec in 1 document from 1 file against policy default (revision 3e42b1e38d1b): 1 denied, 0 allowed with warnings, 0 allowed
`,
      });
      const report = JSON.parse(runCli(['check', '-f', `${MANIFESTS}/image-volumes`, '-o', 'json']).stdout);
      expect(report.findings[0]).toMatchObject({
        line: 16,
        container: 'weights',
        containerList: 'volumes',
        description:
          'image volume "weights": image registry.example.com/ml/weights:latest uses the latest tag (rule no-latest)',
      });
    });

    it('exits 0 on a clean manifest, with only the summary', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/app/clean.json`])).toEqual({
        status: 0,
        stderr: '',
        stdout:
          'checked 1 pod spec in 1 document from 1 file against policy default (revision 3e42b1e38d1b): 0 denied, 0 allowed with warnings, 1 allowed\n',
      });
    });

    it('refuses a break-glass ticket, since the built-in policy leaves break-glass off', () => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      const manifest = readFileSync(`${MANIFESTS}/break-glass.yaml`, 'utf8').replace(
        '"2999-01-01T00:00:00Z"',
        `"${inAnHour}"`,
      );
      expect(runCli(['check', '-f', '-'], { input: manifest })).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION    DOC  NAMESPACE  RESOURCE    CONTAINER  IMAGE                              RULE       ENFORCEMENT  MESSAGE
<stdin>:11  1    payments   Pod/hotfix  api        registry.example.com/payments/api  no-latest  enforce      uses the latest tag (not let through: break-glass annotations are disabled by the policy)

checked 1 pod spec in 1 document from 1 file against policy default (revision 3e42b1e38d1b): 1 denied, 0 allowed with warnings, 0 allowed
`,
      });
    });

    it('exits 0 when break-glass would let an enforced violation through, and says so', () => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      const manifest = readFileSync(`${MANIFESTS}/break-glass.yaml`, 'utf8').replace(
        '"2999-01-01T00:00:00Z"',
        `"${inAnHour}"`,
      );
      expect(runCli(['check', '-f', '-', '--policy', BREAK_GLASS_POLICY], { input: manifest })).toEqual({
        status: 0,
        stderr: '',
        stdout: `LOCATION    DOC  NAMESPACE  RESOURCE    CONTAINER  IMAGE                              RULE       ENFORCEMENT  MESSAGE
<stdin>:11  1    payments   Pod/hotfix  api        registry.example.com/payments/api  no-latest  enforce      uses the latest tag (allowed by break-glass ticket INC-4711 until ${inAnHour})

checked 1 pod spec in 1 document from 1 file against policy break-glass (revision ${revisionOf(BREAK_GLASS_POLICY)}): 0 denied, 1 allowed with warnings, 0 allowed
`,
      });
    });

    it('exits 1 when the break-glass ticket expires further ahead than the policy allows, and says why', () => {
      expect(
        runCli(['check', '-f', `${MANIFESTS}/break-glass.yaml`, '--policy', BREAK_GLASS_POLICY]),
      ).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                                     DOC  NAMESPACE  RESOURCE    CONTAINER  IMAGE                              RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/break-glass.yaml:11  1    payments   Pod/hotfix  api        registry.example.com/payments/api  no-latest  enforce      uses the latest tag (not let through: break-glass ticket INC-4711 expires at 2999-01-01T00:00:00.000Z, more than the 24 hours ahead that spec.breakGlassMaxHours allows)

checked 1 pod spec in 1 document from 1 file against policy break-glass (revision ${revisionOf(BREAK_GLASS_POLICY)}): 1 denied, 0 allowed with warnings, 0 allowed
`,
      });
    });
  });

  it('prints warn-mode violations but exits 0, and leaves audit-mode ones out', () => {
    // Both images lack a digest, which the audit-mode rule digests-everywhere only logs at admission.
    expect(runCli(['check', '-f', `${MANIFESTS}/warn-only.yaml`, '--policy', ROLLOUT_POLICY])).toEqual({
      status: 0,
      stderr: '',
      stdout: `LOCATION                                   DOC  NAMESPACE  RESOURCE            CONTAINER  IMAGE                       RULE                ENFORCEMENT  MESSAGE
test/fixtures/manifests/warn-only.yaml:16  1    default    Deployment/toolbox  toolbox    ghcr.io/acme/toolbox:1.4.0  trusted-registries  warn         is not from an allowed repository

checked 1 pod spec in 1 document from 1 file against policy rollout (revision ${revisionOf(ROLLOUT_POLICY)}): 0 denied, 1 allowed with warnings, 0 allowed
`,
    });
  });

  it('applies --namespace to objects that name none, and namespaced rules by it', () => {
    const helm = readFileSync(`${MANIFESTS}/helm-output.yaml`, 'utf8');
    const inProd = runCli(
      ['check', '-f', '-', '-n', 'prod-eu', '--policy', 'examples/image-policy.yaml', '-o', 'json'],
      { input: helm },
    );
    type Finding = { namespace: string; rule: string; image: string };
    const { findings } = JSON.parse(inProd.stdout) as { findings: Finding[] };
    const rules = findings.map((f) => [f.namespace, f.image, f.rule].join(' '));
    expect(rules).toEqual([
      'prod-eu busybox no-latest',
      'prod-eu busybox trusted-sources',
      'prod-eu ghcr.io/acme/shop:2.4.1 trusted-sources',
      'prod-eu ghcr.io/acme/shop:2.4.1 pinned-in-prod',
    ]);
  });

  it('prints a stable JSON document with -o json', () => {
    const run = runCli(['check', '-f', `${MANIFESTS}/app/list.yaml`, '-o', 'json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      policy: { name: 'default', source: 'built-in default policy', revision: '3e42b1e38d1b' },
      summary: {
        files: 1,
        documents: 1,
        podSpecs: 2,
        denied: 1,
        allowedWithWarnings: 0,
        allowed: 1,
        skipped: 1,
        excepted: 0,
      },
      registrySkipped: { rules: [], pinning: 0 },
      findings: [
        {
          file: 'test/fixtures/manifests/app/list.yaml',
          line: 15,
          column: 18,
          document: 1,
          item: 0,
          helmSource: null,
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: 'default',
          name: 'cache',
          container: 'redis',
          containerList: 'containers',
          image: 'redis',
          rule: 'no-latest',
          enforcement: 'enforce',
          message: 'uses the latest tag',
          description: 'container "redis" (containers): image redis uses the latest tag (rule no-latest)',
          breakGlass: null,
          breakGlassRefused: null,
        },
      ],
      excepted: [],
      skipped: [
        {
          file: 'test/fixtures/manifests/app/list.yaml',
          line: 16,
          document: 1,
          item: 1,
          apiVersion: 'v1',
          kind: 'Service',
          namespace: 'default',
          name: 'cache',
        },
      ],
    });
  });

  describe('--fail-on warn, like kyverno --warn-exit-code', () => {
    const warnOnly = ['check', '-f', `${MANIFESTS}/warn-only.yaml`, '--policy', ROLLOUT_POLICY];

    it('fails the run on a warning, with the same report', () => {
      const passing = runCli(warnOnly);
      expect(passing.status).toBe(0);
      expect(runCli([...warnOnly, '--fail-on', 'warn'])).toEqual({ ...passing, status: 1 });
    });

    it('still passes a clean manifest', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/app/clean.json`, '--fail-on', 'warn']).status).toBe(0);
    });
  });

  describe('-o junit, for CI systems that read JUnit XML', () => {
    it('is one test case per pod spec, failed when denied, and one skipped per object of another kind', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/crds.yaml`, '-o', 'junit'])).toEqual({
        status: 1,
        stderr: '',
        stdout: `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="kube-image-bouncer check" tests="4" failures="1" errors="0" skipped="2">
  <testsuite name="test/fixtures/manifests/crds.yaml" tests="4" failures="1" errors="0" skipped="2">
    <properties>
      <property name="policy" value="default"/>
      <property name="policy-revision" value="3e42b1e38d1b"/>
    </properties>
    <testcase classname="test/fixtures/manifests/crds.yaml" name="Rollout/checkout in shop (document 1)" file="test/fixtures/manifests/crds.yaml" line="2">
      <failure message="Rollout/checkout would be denied" type="deny">container &quot;checkout&quot; (containers): image ghcr.io/acme/checkout uses the latest tag (rule no-latest)</failure>
    </testcase>
    <testcase classname="test/fixtures/manifests/crds.yaml" name="Service/hello in shop (document 2)" file="test/fixtures/manifests/crds.yaml" line="20"/>
    <testcase classname="test/fixtures/manifests/crds.yaml" name="Widget/gadget in default (document 3)" file="test/fixtures/manifests/crds.yaml" line="34">
      <skipped message="example.com/Widget has no pod spec at a place the webhook knows"/>
    </testcase>
    <testcase classname="test/fixtures/manifests/crds.yaml" name="Service/checkout in shop (document 4)" file="test/fixtures/manifests/crds.yaml" line="44">
      <skipped message="Service has no pod spec at a place the webhook knows"/>
    </testcase>
  </testsuite>
</testsuites>
`,
      });
    });

    it('reports warnings as output of a passing test case, and as failures with --fail-on warn', () => {
      const args = ['check', '-f', `${MANIFESTS}/warn-only.yaml`, '--policy', ROLLOUT_POLICY, '-o', 'junit'];
      const warning =
        'container &quot;toolbox&quot; (containers): image ghcr.io/acme/toolbox:1.4.0 is not from an allowed repository (rule trusted-registries)';
      const passing = runCli(args);
      expect(passing.status).toBe(0);
      expect(passing.stdout).toContain(`<system-out>warning: ${warning}</system-out>`);
      expect(passing.stdout).toContain('failures="0"');
      const failing = runCli([...args, '--fail-on', 'warn']);
      expect(failing.status).toBe(1);
      expect(failing.stdout).toContain(
        `<failure message="Deployment/toolbox would be admitted with warnings" type="warn">${warning}</failure>`,
      );
    });
  });

  describe('-o sarif, for GitHub code scanning', () => {
    const run = () =>
      runCli([
        'check',
        '-f',
        `${MANIFESTS}/app`,
        '-f',
        `${MANIFESTS}/warn-only.yaml`,
        '--policy',
        'examples/image-policy.yaml',
        '-o',
        'sarif',
      ]);
    let status: number | null;
    let sarif: Log;
    beforeAll(() => {
      const result = run();
      status = result.status;
      sarif = JSON.parse(result.stdout) as Log;
    });

    it('is a SARIF 2.1.0 log with one run of kube-image-bouncer, and the exit status of the table', () => {
      expect(status).toBe(1);
      expect(sarif).toMatchObject({
        $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
        version: '2.1.0',
      });
      expect(sarif.runs).toHaveLength(1);
      expect(sarif.runs[0].tool.driver).toMatchObject({ name: 'kube-image-bouncer', version: '0.1.0' });
    });

    it('describes each policy rule once, with the level of its enforcement, and the engine’s own rule', () => {
      const rules = sarif.runs[0].tool.driver.rules!;
      expect(rules.map((r) => [r.id, r.defaultConfiguration?.level, r.shortDescription?.text])).toEqual([
        ['no-latest', 'error', 'disallowedTags (enforce)'],
        ['trusted-sources', 'warning', 'allowedRepositories (warn)'],
        ['no-unknown-hub', 'error', 'deniedRepositories (enforce)'],
        ['pinned-in-prod', 'error', 'requireDigest (enforce)'],
        ['valid-reference', 'error', 'image is not a valid reference'],
      ]);
      for (const rule of rules) expect(rule.fullDescription?.text).toEqual(expect.any(String));
    });

    it('reports each finding: error when enforced, warning when warn-mode, at the line of its image', () => {
      const { results = [], tool } = sarif.runs[0];
      expect(
        results.map((r) => [
          r.ruleId,
          r.level,
          r.locations![0].physicalLocation!.artifactLocation!.uri,
          r.locations![0].physicalLocation!.region!.startLine,
        ]),
      ).toEqual([
        ['trusted-sources', 'warning', 'test/fixtures/manifests/app/clean.json', 11],
        ['trusted-sources', 'warning', 'test/fixtures/manifests/app/clean.json', 12],
        ['no-latest', 'error', 'test/fixtures/manifests/app/cronjob.yaml', 17],
        ['no-latest', 'error', 'test/fixtures/manifests/app/list.yaml', 15],
        ['trusted-sources', 'warning', 'test/fixtures/manifests/app/list.yaml', 15],
        ['no-latest', 'error', 'test/fixtures/manifests/app/multi-doc.yaml', 30],
        ['trusted-sources', 'warning', 'test/fixtures/manifests/app/multi-doc.yaml', 30],
        ['trusted-sources', 'warning', 'test/fixtures/manifests/warn-only.yaml', 16],
      ]);
      for (const result of results) {
        expect(tool.driver.rules![result.ruleIndex!].id).toBe(result.ruleId);
        const { artifactLocation, region } = result.locations![0].physicalLocation!;
        expect(artifactLocation!.uriBaseId).toBe('%SRCROOT%');
        const line = readFileSync(artifactLocation!.uri!, 'utf8').split('\n')[region!.startLine! - 1];
        // The region's column is where the image itself starts on that line.
        const image = /image (\S+) /.exec(result.message.text!)![1];
        expect(line.slice(region!.startColumn! - 1).replace(/^"/, '')).toMatch(
          new RegExp(`^${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
        );
        expect(result.partialFingerprints).toEqual({
          'kubeImageBouncerFinding/v1': expect.stringMatching(/^[0-9a-f]{64}$/),
        });
      }
      expect(results[2].message.text).toBe(
        'CronJob/nightly-report in namespace reporting: container "migrate" (initContainers): image registry.example.com/tools/migrate:latest uses the latest tag (rule no-latest)',
      );
    });
  });

  describe('what spec.exceptions let through', () => {
    const EXCEPTIONS_POLICY = 'test/fixtures/policies/exceptions.yaml';
    const args = ['check', `${MANIFESTS}/excepted.yaml`, '--policy', EXCEPTIONS_POLICY];
    const expired =
      'kube-image-bouncer: warning: test/fixtures/policies/exceptions.yaml:13: spec.exceptions[1] (ticket CHG-1999) expired at 2020-01-31T00:00:00.000Z and lets nothing through; remove it, or renew it with a later expires\n';

    it('is a row of its own, "excepted", with the ticket and expiry; an expired exception gets a warning', () => {
      expect(runCli(args)).toEqual({
        status: 1,
        stderr: expired,
        stdout: `LOCATION                                  DOC  NAMESPACE  RESOURCE             CONTAINER       IMAGE                                 RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/excepted.yaml:16  1    shop       Deployment/checkout  migrate (init)  busybox                               no-latest  enforce      uses the latest tag
test/fixtures/manifests/excepted.yaml:19  1    shop       Deployment/checkout  checkout        registry.example.com/legacy/checkout  -          excepted     let through by spec.exceptions CHG-4711 until 2999-12-31T00:00:00.000Z

checked 1 pod spec in 1 document from 1 file against policy exceptions (revision ${revisionOf(EXCEPTIONS_POLICY)}): 1 denied, 0 allowed with warnings, 0 allowed; 1 image let through by spec.exceptions
`,
      });
    });

    it('is in -o json, with its ticket and expiry', () => {
      const report = JSON.parse(runCli([...args, '-o', 'json']).stdout) as {
        summary: { excepted: number };
        excepted: unknown[];
      };
      expect(report.summary.excepted).toBe(1);
      expect(report.excepted).toEqual([
        {
          file: 'test/fixtures/manifests/excepted.yaml',
          line: 19,
          column: 18,
          document: 1,
          item: null,
          helmSource: null,
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'shop',
          name: 'checkout',
          container: 'checkout',
          containerList: 'containers',
          image: 'registry.example.com/legacy/checkout',
          ticket: 'CHG-4711',
          expires: '2999-12-31T00:00:00.000Z',
        },
      ]);
    });

    it('is a suppressed result in -o sarif, justified by the ticket', () => {
      const log = JSON.parse(runCli([...args, '-o', 'sarif']).stdout) as Log;
      const [run] = log.runs;
      const excepted = run.results!.filter((r) => r.ruleId === 'excepted');
      expect(excepted).toEqual([
        expect.objectContaining({
          level: 'note',
          ruleIndex: run.tool.driver.rules!.findIndex((rule) => rule.id === 'excepted'),
          suppressions: [
            {
              kind: 'external',
              status: 'accepted',
              justification: 'spec.exceptions CHG-4711 until 2999-12-31T00:00:00.000Z',
            },
          ],
          locations: [
            expect.objectContaining({
              physicalLocation: expect.objectContaining({ region: { startLine: 19, startColumn: 18 } }),
            }),
          ],
        }),
      ]);
      expect(run.results!.filter((r) => r.ruleId === 'no-latest')).toHaveLength(1);
    });

    it("is the pod spec's test case output in -o junit", () => {
      expect(runCli([...args, '-o', 'junit']).stdout).toContain(
        '<system-out>excepted: container &quot;checkout&quot; (containers): image registry.example.com/legacy/checkout let through by spec.exceptions CHG-4711 until 2999-12-31T00:00:00.000Z</system-out>',
      );
    });

    it('warns of an expired exception in explain and test too', () => {
      expect(runCli(['explain', 'nginx:1', '--policy', EXCEPTIONS_POLICY]).stderr).toBe(expired);
    });
  });

  describe('a policy that needs the registry, offline', () => {
    const REGISTRY_POLICY = 'test/fixtures/policies/registry-aware.yaml';
    const args = ['check', `${MANIFESTS}/prod-shop.yaml`, '--policy', REGISTRY_POLICY];
    const table = (
      failsTheRun: boolean,
    ) => `LOCATION                                   DOC  NAMESPACE  RESOURCE     CONTAINER  IMAGE                       RULE    ENFORCEMENT  MESSAGE
test/fixtures/manifests/prod-shop.yaml:20  2    prod-eu    Pod/sandbox  pause      registry.k8s.io/pause:3.10  pinned  enforce      is not pinned by a digest

checked 3 pod specs in 3 documents from 1 file against policy registry-aware (revision ${revisionOf(REGISTRY_POLICY)}): 1 denied, 0 allowed with warnings, 2 allowed
skipped what needs the registry (run with --online to do it as the webhook does): rule signed-by-ci (verifySignatures) for 1 image; digest pinning for 1 image (judged as pinned, as /mutate would pin them)
${failsTheRun ? 'this fails the run (--fail-on skipped)\n' : ''}`;

    it('judges a tag /mutate would pin as pinned, as the webhook does, and says so; an image it would not pin is denied', () => {
      expect(runCli(args)).toEqual({ status: 1, stderr: '', stdout: table(false) });
    });

    it('reports findings with the image as written, not with the digest it stood in for', () => {
      const report = JSON.parse(runCli([...args, '-o', 'json']).stdout) as {
        findings: { image: string }[];
        registrySkipped: unknown;
      };
      expect(report.findings.map((f) => f.image)).toEqual(['registry.k8s.io/pause:3.10']);
      expect(report.registrySkipped).toEqual({
        rules: [{ rule: 'signed-by-ci', check: 'verifySignatures', images: 1 }],
        pinning: 1,
      });
    });

    describe('--fail-on skipped, for CI jobs that must not pass over registry-aware checks', () => {
      const clean = ['check', '-', '--policy', REGISTRY_POLICY];
      const input = readFileSync(`${MANIFESTS}/prod-shop.yaml`, 'utf8').split('---\n')[0];

      it('passes a pod spec whose checks need the registry without it, and fails it with --fail-on skipped', () => {
        expect(runCli(clean, { input }).status).toBe(0);
        const failing = runCli([...clean, '--fail-on', 'skipped'], { input });
        expect(failing.status).toBe(1);
        expect(failing.stdout).toContain('this fails the run (--fail-on skipped)\n');
        expect(runCli([...args, '--fail-on', 'skipped']).stdout).toBe(table(true));
      });

      it('marks the pod spec failed in -o junit, and takes several outcomes', () => {
        const junit = runCli([...clean, '--fail-on', 'warn,skipped', '-o', 'junit'], { input });
        expect(junit.status).toBe(1);
        expect(junit.stdout).toContain(
          '<failure message="Pod/shop: 2 check(s) that need the registry were skipped (run with --online)" type="skipped"></failure>',
        );
        expect(runCli([...clean, '--fail-on', 'warn', '--fail-on', 'skipped'], { input }).status).toBe(1);
      });

      it('passes what needs no registry, and refuses an outcome it does not know', () => {
        expect(runCli(['check', `${MANIFESTS}/app/clean.json`, '--fail-on', 'skipped']).status).toBe(0);
        expect(runCli([...clean, '--fail-on', 'skiped'], { input })).toMatchObject({
          status: 2,
          stderr:
            "error: option '--fail-on <outcome>' argument 'skiped' is invalid. Allowed choices are deny, warn, skipped, or several separated by commas.\n",
        });
      });
    });
  });

  describe('exits 2, naming what it cannot read', () => {
    it('a YAML syntax error, with file and line, and a missing file; nothing is checked', () => {
      expect(
        runCli([
          'check',
          '-f',
          `${MANIFESTS}/app`,
          '-f',
          `${MANIFESTS}/unreadable.yaml`,
          '-f',
          `${MANIFESTS}/absent.yaml`,
        ]),
      ).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: cannot read the manifests:
  test/fixtures/manifests/unreadable.yaml:9: Flow sequence in block collection must be sufficiently indented and end with a ]
  test/fixtures/manifests/absent.yaml: no such file or directory
`,
      });
    });

    it('an invalid policy, with its message', () => {
      expect(
        runCli(['check', '-f', `${MANIFESTS}/app`, '--policy', 'test/fixtures/policies/typo.yaml']),
      ).toEqual({
        status: 2,
        stdout: '',
        stderr:
          'kube-image-bouncer: invalid image policy test/fixtures/policies/typo.yaml:\n' +
          '  test/fixtures/policies/typo.yaml:6: spec.rules[0].enforcement must be one of enforce, warn, audit (got "wran")\n',
      });
    });

    it('no input at all', () => {
      expect(runCli(['check'])).toEqual({
        status: 2,
        stdout: '',
        stderr:
          'kube-image-bouncer: check needs at least one FILE, DIRECTORY or - (stdin), each given alone or after -f\n',
      });
    });

    it('an unknown output format', () => {
      expect(runCli(['check', '-f', '-', '-o', 'yaml'])).toMatchObject({
        status: 2,
        stderr:
          "error: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json, sarif, junit.\n",
      });
    });

    describe('nothing to check, which must not pass', () => {
      it('an empty directory', () => {
        const empty = mkdtempSync(join(tmpdir(), 'check-empty-'));
        expect(runCli(['check', '-f', empty])).toEqual({
          status: 2,
          stdout: '',
          stderr: `kube-image-bouncer: nothing to check: no Kubernetes objects in -f ${empty} (no .yaml, .yml or .json files in it)\n`,
        });
      });

      it.each([
        ['an empty stdin, as a failed helm template leaves it', ''],
        ['a stdin of empty documents', '---\n# nothing rendered\n---\n'],
      ])('%s', (_case, input) => {
        expect(runCli(['check', '-f', '-'], { input })).toEqual({
          status: 2,
          stdout: '',
          stderr:
            'kube-image-bouncer: nothing to check: no Kubernetes objects in -f - (stdin is empty: did the command piping into it fail?)\n',
        });
      });

      it('files of documents that are not Kubernetes objects', () => {
        expect(runCli(['check', '-f', '-'], { input: 'image: nginx\nreplicas: 3\n' })).toMatchObject({
          status: 2,
          stderr: 'kube-image-bouncer: nothing to check: no Kubernetes objects in -f -\n',
        });
      });
    });

    it('an unrendered Helm template, said clearly, without a Node warning from the YAML library', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/unrendered-chart`])).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: cannot read the manifests:
  test/fixtures/manifests/unrendered-chart/templates/deployment.yaml:4: {{ .Release.Name }} is a template expression; this looks like an unrendered Helm template: check what \`helm template\` renders instead
`,
      });
    });
  });

  it('documents its inputs, outputs and exit statuses in --help', () => {
    const help = runCli(['check', '--help']);
    expect(help.status).toBe(0);
    for (const text of [
      '-f, --filename <path>',
      '--policy <file>',
      'BOUNCER_POLICY',
      '-n, --namespace',
      '-o, --output',
      'sarif',
      'junit',
      '--fail-on <outcome>',
      'Argo Rollout, Knative Service',
      'Exit status: 0',
    ])
      expect(help.stdout).toContain(text);
  });
});
