import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Log } from 'sarif';
import { runCli } from './support/cli-run';

const MANIFESTS = 'test/fixtures/manifests';
const ROLLOUT_POLICY = 'test/fixtures/policies/rollout.yaml';
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
`,
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

    it('exits 0 when break-glass would let an enforced violation through, and says so', () => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      const manifest = readFileSync(`${MANIFESTS}/break-glass.yaml`, 'utf8').replace(
        '"2999-01-01T00:00:00Z"',
        `"${inAnHour}"`,
      );
      expect(runCli(['check', '-f', '-'], { input: manifest })).toEqual({
        status: 0,
        stderr: '',
        stdout: `LOCATION    DOC  NAMESPACE  RESOURCE    CONTAINER  IMAGE                              RULE       ENFORCEMENT  MESSAGE
<stdin>:11  1    payments   Pod/hotfix  api        registry.example.com/payments/api  no-latest  enforce      uses the latest tag (allowed by break-glass ticket INC-4711 until ${inAnHour})

checked 1 pod spec in 1 document from 1 file against policy default (revision 3e42b1e38d1b): 0 denied, 1 allowed with warnings, 0 allowed
`,
      });
    });

    it('exits 1 when the break-glass ticket expires further ahead than the policy allows, and says why', () => {
      expect(runCli(['check', '-f', `${MANIFESTS}/break-glass.yaml`])).toEqual({
        status: 1,
        stderr: '',
        stdout: `LOCATION                                     DOC  NAMESPACE  RESOURCE    CONTAINER  IMAGE                              RULE       ENFORCEMENT  MESSAGE
test/fixtures/manifests/break-glass.yaml:11  1    payments   Pod/hotfix  api        registry.example.com/payments/api  no-latest  enforce      uses the latest tag (not let through: break-glass ticket INC-4711 expires at 2999-01-01T00:00:00.000Z, more than the 24 hours ahead that spec.breakGlassMaxHours allows)

checked 1 pod spec in 1 document from 1 file against policy default (revision 3e42b1e38d1b): 1 denied, 0 allowed with warnings, 0 allowed
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
      summary: { files: 1, documents: 1, podSpecs: 2, denied: 1, allowedWithWarnings: 0, allowed: 1 },
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
        stderr: 'kube-image-bouncer: check needs at least one -f FILE, -f DIRECTORY or -f - (stdin)\n',
      });
    });

    it('an unknown output format', () => {
      expect(runCli(['check', '-f', '-', '-o', 'yaml'])).toMatchObject({
        status: 2,
        stderr:
          "error: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json, sarif.\n",
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
      'Exit status: 0',
    ])
      expect(help.stdout).toContain(text);
  });
});
