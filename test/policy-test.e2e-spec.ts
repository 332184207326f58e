import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli-run';

const SUITES = 'test/fixtures/policy-tests';

describe('kube-image-bouncer test', () => {
  it('passes the example suite: every expectation met, exit status 0', () => {
    const run = runCli(['test', 'examples/']);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const rows = run.stdout.split('\n').slice(1, -3);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row).toMatch(/ pass$/);
    expect(run.stdout).toMatch(/\npassed: (\d+) of \1 checks in 6 tests of 1 suite\n$/);
  });

  it('reports one of each kind of mismatch, and exits 1', () => {
    expect(runCli(['test', `${SUITES}/mismatches`])).toEqual({
      status: 1,
      stderr: '',
      stdout: `LOCATION                                             TEST                  NAMESPACE  IMAGE                                       EXPECTED                           GOT                                     RESULT
test/fixtures/policy-tests/mismatches/suite.yaml:11  wrong decision        default    nginx                                       allow                              deny (no-latest)                        FAIL
test/fixtures/policy-tests/mismatches/suite.yaml:14  wrong rules           default    randomuser/miner:1                          deny (no-unknown-hub)              deny (no-unknown-hub, trusted-sources)  FAIL
test/fixtures/policy-tests/mismatches/suite.yaml:18  images of a manifest  shop       fluent/fluent-bit                           deny (no-latest, trusted-sources)  deny (no-latest, trusted-sources)       pass
test/fixtures/policy-tests/mismatches/suite.yaml:19  images of a manifest  shop       registry.example.com/shop/storefront:3.1.0  allow                              allow                                   pass
test/fixtures/policy-tests/mismatches/suite.yaml:20  images of a manifest  default    nginx:1.25                                  allow                              not in the manifest                     FAIL
test/fixtures/policy-tests/mismatches/suite.yaml:16  images of a manifest  shop       registry.example.com/shop/migrate:3.1.0     no expectation written             allow                                   FAIL

FAILED: 4 of 6 checks in 3 tests of 1 suite
`,
    });
  });

  it('holds image volumes of a manifest to expectations like container images', () => {
    const run = runCli(['test', `${SUITES}/image-volumes`]);

    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toContain(
      'registry.example.com/ml/weights:latest  deny (no-latest)  deny (no-latest)  pass',
    );
    expect(run.stdout).toMatch(/\npassed: 3 of 3 checks in 1 test of 1 suite\n$/);
  });

  it('judges attestation conditions on attestation files, with no registry: statements, and envelopes verified with a key', () => {
    const run = runCli(['test', `${SUITES}/attestation-conditions`]);

    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(
      /provenance from another branch +default +\S+ +deny \(built-by-our-ci\) +deny \(built-by-our-ci\) +pass/,
    );
    expect(run.stdout).toMatch(/\npassed: 5 of 5 checks in 5 tests of 1 suite\n$/);
  });

  it('refuses a suite whose attestation file cannot be read, naming its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attestation-files-'));
    for (const file of ['policy.yaml', 'cosign.pub'])
      copyFileSync(join(SUITES, 'attestation-conditions', file), join(dir, file));
    writeFileSync(
      join(dir, 'suite.yaml'),
      [
        'apiVersion: kube-image-bouncer.io/v1alpha1',
        'kind: ImagePolicyTest',
        'spec:',
        '  policy: policy.yaml',
        '  tests:',
        '    - name: missing',
        '      attestations:',
        '        - statement: nowhere.json',
        '      images: [{image: nginx, decision: deny}]',
        '',
      ].join('\n'),
    );

    const run = runCli(['test', dir]);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `${join(dir, 'suite.yaml')}:8: cannot read ${join(dir, 'nowhere.json')}: ENOENT`,
    );
  });

  it('gives the results as JSON with -o json', () => {
    const run = runCli(['test', `${SUITES}/mismatches/suite.yaml`, '-o', 'json']);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.summary).toEqual({ suites: 1, tests: 3, checks: 6, failed: 4 });
    expect(report.suites[0].policy).toEqual({
      name: 'example',
      source: 'examples/image-policy.yaml',
      revision: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(report.suites[0].results[1]).toEqual({
      line: 14,
      test: 'wrong rules',
      namespace: 'default',
      manifest: null,
      image: 'randomuser/miner:1',
      expected: { decision: 'deny', rules: ['no-unknown-hub'] },
      got: { decision: 'deny', rules: ['trusted-sources', 'no-unknown-hub'], resource: null },
      passed: false,
    });
  });

  describe('exits 2 on input it cannot read', () => {
    it('a suite that does not validate, naming each line and key', () => {
      expect(runCli(['test', `${SUITES}/invalid`])).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: cannot read the policy tests:
  test/fixtures/policy-tests/invalid/suite.yaml:8: spec.tests[0].images[0].decision must be one of allow, warn, deny (got "denied")
  test/fixtures/policy-tests/invalid/suite.yaml:9: spec.tests[0].images[1] must have the key "decision"
  test/fixtures/policy-tests/invalid/suite.yaml:9: spec.tests[0].images[1].decison is not a known key (did you mean "decision"?)
`,
      });
    });

    it('a directory with no suite, and a path that is not there: a run of no tests does not pass', () => {
      expect(runCli(['test', `${SUITES}/no-suites`, 'absent/'])).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: cannot read the policy tests:
  test/fixtures/policy-tests/no-suites: holds no policy test suite (a YAML file of kind: ImagePolicyTest)
  absent/: no such file or directory
`,
      });
    });

    it('a suite whose policy is not there', () => {
      const suite = join(mkdtempSync(join(tmpdir(), 'policy-test-')), 'suite.yaml');
      writeFileSync(
        suite,
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicyTest\nspec:\n  policy: absent.yaml\n  tests:\n    - {name: x, images: [{image: nginx, decision: deny}]}\n',
      );
      expect(runCli(['test', suite])).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: cannot read the policy tests:\n  ${suite}: spec.policy ${join(suite, '..', 'absent.yaml')} cannot be read\n`,
      });
    });
  });
});
