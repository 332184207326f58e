import { Logger } from '@nestjs/common';
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { runCli } from '../support/cli-run';
import { POD_KIND, admissionReview, imageReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { Cosign } from './support/cosign';
import { Crane, LocalRegistry, startRegistry } from './support/local-registry';
import { writePolicy } from './support/pinning-client';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const SPDX = 'https://spdx.dev/Document';
const RELEASE_WORKFLOW = 'https://github.com/acme/.github/workflows/release.yml@refs/heads/main';
const HOUR = 3_600_000;

/** A SLSA v1 provenance predicate as GitHub's generator writes it, built by `builder`. */
const provenance = (builder: string, repository = 'https://github.com/acme/app') => ({
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: {
      workflow: { ref: 'refs/heads/main', repository, path: '.github/workflows/release.yml' },
    },
    internalParameters: {
      github: { event_name: 'push', repository_id: '123456', repository_owner_id: '654321' },
    },
    resolvedDependencies: [
      { uri: `git+${repository}@refs/heads/main`, digest: { gitCommit: 'c'.repeat(40) } },
    ],
  },
  runDetails: {
    builder: { id: builder },
    metadata: {
      invocationId: 'https://github.com/acme/app/actions/runs/7/attempts/1',
      startedOn: '2026-12-01T10:00:00Z',
      finishedOn: '2026-12-01T10:04:00Z',
    },
  },
});

/** A vulnerability scan as `trivy image --format cosign-vuln` writes it, finished `ago` ms before now. */
const vulnerabilityScan = (ago: number, severities: string[]) => {
  const finished = new Date(Date.now() - ago).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' },
    scanner: {
      uri: 'pkg:github/aquasecurity/trivy@v0.58.1',
      version: '0.58.1',
      db: { uri: '', version: '' },
      result: {
        SchemaVersion: 2,
        ArtifactName: 'demo/app',
        ArtifactType: 'container_image',
        Results: [
          { Target: 'demo/app (alpine 3.20.3)', Class: 'os-pkgs', Type: 'alpine' },
          {
            Target: 'app/app.jar',
            Class: 'lang-pkgs',
            Type: 'jar',
            Vulnerabilities: severities.map((Severity, i) => ({
              VulnerabilityID: `CVE-2026-${1000 + i}`,
              PkgName: 'org.example:lib',
              InstalledVersion: '1.0.0',
              Severity,
            })),
          },
        ],
      },
    },
    metadata: { scanStartedOn: finished, scanFinishedOn: finished },
  };
};

/** An SPDX 2.3 document of two packages. */
const sbom = (packages: string[]) => ({
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'demo/app',
  documentNamespace: 'https://example.com/spdx/demo-app',
  creationInfo: { created: '2026-12-01T10:05:00Z', creators: ['Tool: syft-1.18.0'] },
  packages: packages.map((name, i) => ({
    SPDXID: `SPDXRef-Package-${i}`,
    name,
    versionInfo: '1.0.0',
    downloadLocation: 'NOASSERTION',
    licenseConcluded: 'Apache-2.0',
  })),
});

/**
 * Conditions over what the real cosign attested (slsaprovenance1, vuln, spdxjson), read from a
 * real registry through both review types and the CLI: true and false for each of the issue's
 * examples, an SBOM, an expression that fails when it runs, one refused at load because it is not
 * boolean, and an attestation whose signature does not verify, on which no condition is evaluated.
 */
describe('attestation conditions against a real registry', () => {
  let pki: TestPki;
  let registry: LocalRegistry;
  let trusted: string;
  const servers: RunningWebhookServer[] = [];
  const repo = (name: string): string => `${registry.host}/demo/${name}`;
  const image = (name: string): string => `${repo(name)}:v1`;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    registry = await startRegistry();
    const crane = new Crane();
    const cosign = new Cosign();
    trusted = await cosign.generateKeyPair('ci');
    await cosign.generateKeyPair('someone-else');
    const digests: Record<string, string> = {};
    for (const name of ['main', 'dev', 'fresh', 'stale', 'critical', 'by-stranger'])
      digests[name] = await crane.push(image(name), `content of ${name}`);
    const at = (name: string): string => `${repo(name)}@${digests[name]}`;
    await cosign.attest(at('main'), 'ci', 'slsaprovenance1', provenance(RELEASE_WORKFLOW));
    await cosign.attest(
      at('dev'),
      'ci',
      'slsaprovenance1',
      provenance(RELEASE_WORKFLOW.replace('main', 'dev')),
    );
    await cosign.attest(at('fresh'), 'ci', 'vuln', vulnerabilityScan(HOUR, ['HIGH', 'LOW']));
    await cosign.attest(at('stale'), 'ci', 'vuln', vulnerabilityScan(10 * 24 * HOUR, ['LOW']));
    await cosign.attest(at('critical'), 'ci', 'vuln', vulnerabilityScan(HOUR, ['HIGH', 'CRITICAL']));
    await cosign.attest(at('fresh'), 'ci', 'spdxjson', sbom(['openssl', 'zlib']));
    await cosign.attest(at('stale'), 'ci', 'spdxjson', sbom(['openssl', 'log4j-core']));
    // Signed by a key nobody trusts, saying everything the conditions want.
    await cosign.attest(at('by-stranger'), 'someone-else', 'vuln', vulnerabilityScan(HOUR, []));
  }, 600_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await registry.stop();
  });

  const policyOf = (rule: string): string => {
    const policy = writePolicy(
      `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n${rule}`,
    );
    copyFileSync(trusted, join(dirname(policy), 'cosign.pub'));
    return policy;
  };

  const bouncer = async (rule: string): Promise<RunningWebhookServer> => {
    const server = await startTestServer(pki, { policyPath: policyOf(rule), healthPort: true });
    servers.push(server);
    return server;
  };

  /** The denial both review types give, or allowed: they must agree. */
  async function ask(server: RunningWebhookServer, reference: string): Promise<string> {
    const viaImageReview = await request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview([reference]))
      .expect(200);
    const viaAdmission = await request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'app', image: reference }] }) }))
      .expect(200);
    const admission = viaAdmission.body.response as { allowed: boolean; status?: { message: string } };
    expect(viaImageReview.body.status.allowed).toBe(admission.allowed);
    if (admission.allowed) return 'allowed';
    expect(viaImageReview.body.status.reason).toContain(reference);
    return admission.status!.message;
  }

  const denied = (reference: string, reason: string, rule: string): string =>
    `container "app" (containers): image ${reference} has no satisfying attestation: ${reason} (rule ${rule})`;

  const BUILT_BY_OUR_CI = [
    '  - name: built-by-our-ci',
    '    verifyAttestations:',
    '      keys: [cosign.pub]',
    `      predicateType: ${SLSA_V1}`,
    '      conditions:',
    `        - expression: 'predicate.runDetails.builder.id == "${RELEASE_WORKFLOW}"'`,
    '          message: built by the release workflow on main',
    `        - expression: 'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"'`,
  ].join('\n');
  const SCANNED_THIS_WEEK = [
    '  - name: scanned-this-week',
    '    verifyAttestations:',
    '      keys: [cosign.pub]',
    `      predicateType: ${VULN}`,
    '      conditions:',
    `        - expression: 'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h")'`,
    '          message: scanned in the last 7 days',
    `        - expression: '!predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))'`,
    '          message: no critical vulnerabilities',
  ].join('\n');

  describe('built by our CI (slsaprovenance1)', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(BUILT_BY_OUR_CI);
    });

    it('admits provenance from the release workflow on main', async () => {
      expect(await ask(server, image('main'))).toBe('allowed');
    });

    it('denies provenance from another branch, with the condition’s message as the reason', async () => {
      expect(await ask(server, image('dev'))).toBe(
        denied(
          image('dev'),
          `attestation ${SLSA_V1} does not satisfy: built by the release workflow on main`,
          'built-by-our-ci',
        ),
      );
    });

    it('judges the same verdict again from the cache, on the statement it verified', async () => {
      expect(await ask(server, image('dev'))).toContain(
        'does not satisfy: built by the release workflow on main',
      );
      expect(await ask(server, image('main'))).toBe('allowed');
    });
  });

  describe('scanned this week (vuln)', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(SCANNED_THIS_WEEK);
    });

    it('admits a scan an hour old with no critical finding', async () => {
      expect(await ask(server, image('fresh'))).toBe('allowed');
    });

    it('denies a scan ten days old', async () => {
      expect(await ask(server, image('stale'))).toBe(
        denied(
          image('stale'),
          `attestation ${VULN} does not satisfy: scanned in the last 7 days`,
          'scanned-this-week',
        ),
      );
    });

    it('denies a scan with a critical finding', async () => {
      expect(await ask(server, image('critical'))).toBe(
        denied(
          image('critical'),
          `attestation ${VULN} does not satisfy: no critical vulnerabilities`,
          'scanned-this-week',
        ),
      );
    });

    it('never evaluates a condition on an attestation whose signature does not verify', async () => {
      expect(await ask(server, image('by-stranger'))).toBe(
        `container "app" (containers): image ${image('by-stranger')} has no verified attestation: no attestation of type ${VULN} by a trusted key (rule scanned-this-week)`,
      );
      const explained = runCli([
        'explain',
        image('by-stranger'),
        '--policy',
        policyOf(SCANNED_THIS_WEEK),
        '-o',
        'json',
      ]);
      const [rule] = JSON.parse(explained.stdout).rules;
      expect(rule.verification.verified).toBe(false);
      expect(rule.attestations).toBeNull();
    });
  });

  describe('an SBOM (spdxjson)', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(
        [
          '  - name: no-log4j',
          '    verifyAttestations:',
          '      keys: [cosign.pub]',
          `      predicateType: ${SPDX}`,
          '      conditions:',
          `        - expression: 'predicate.packages.exists(p, p.name == "openssl")'`,
          `        - expression: '!predicate.packages.exists(p, p.name.startsWith("log4j"))'`,
          '          message: no log4j',
        ].join('\n'),
      );
    });

    it('admits an SBOM without log4j and denies one with it', async () => {
      expect(await ask(server, image('fresh'))).toBe('allowed');
      expect(await ask(server, image('stale'))).toBe(
        denied(image('stale'), `attestation ${SPDX} does not satisfy: no log4j`, 'no-log4j'),
      );
    });
  });

  it('denies when a condition fails as it runs, naming the error, never admitting', async () => {
    const rule = [
      '  - name: scanned-by',
      '    verifyAttestations:',
      '      keys: [cosign.pub]',
      `      predicateType: ${VULN}`,
      '      conditions:',
      `        - expression: 'predicate.scanner.db.updatedAt > now || true'`,
      `        - expression: 'predicate.invocation.nonexistent.uri == ""'`,
      '          message: invoked by the scanner',
    ].join('\n');
    const server = await bouncer(rule);

    expect(await ask(server, image('fresh'))).toBe(
      denied(
        image('fresh'),
        `attestation ${VULN} does not satisfy: invoked by the scanner (error: field not found: nonexistent)`,
        'scanned-by',
      ),
    );
    const explained = runCli(['explain', image('fresh'), '--policy', policyOf(rule)]).stdout;
    expect(explained).toMatch(
      /scanned-by: conditions\n {2}att tag by key sha256:[0-9a-f]{16} \(cosign\.pub\): does not satisfy the conditions\n {4}true +predicate\.scanner\.db\.updatedAt > now \|\| true\n {4}error +invoked by the scanner: field not found: nonexistent\n/,
    );
  });

  it('refuses, at load, an expression that is not boolean, at its file and line', () => {
    const policy = policyOf(
      [
        '  - name: scanned',
        '    verifyAttestations:',
        '      keys: [cosign.pub]',
        `      predicateType: ${VULN}`,
        '      conditions:',
        `        - expression: 'size(predicate.scanner.result.Results)'`,
      ].join('\n'),
    );

    const run = runCli(['explain', image('fresh'), '--policy', policy]);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `${policy}:13: spec.rules[0].verifyAttestations.conditions[0].expression must be a boolean expression, but is of type int`,
    );
  });

  it('explains each attestation, each condition and which one admitted the image', () => {
    const run = runCli(['explain', image('critical'), '--policy', policyOf(SCANNED_THIS_WEEK), '-o', 'json']);
    const [rule] = JSON.parse(run.stdout).rules;

    expect(rule.attestations).toEqual([
      {
        where: expect.stringMatching(/^(att tag|sigstore bundle)$/),
        verifiedBy: expect.stringMatching(/^key sha256:[0-9a-f]{16} \(cosign\.pub\)$/),
        predicateType: VULN,
        admitted: false,
        evaluated: true,
        refused: null,
        conditions: [
          expect.objectContaining({ message: 'scanned in the last 7 days', result: true, error: null }),
          expect.objectContaining({ message: 'no critical vulnerabilities', result: false, error: null }),
        ],
      },
    ]);
    const text = runCli(['explain', image('fresh'), '--policy', policyOf(SCANNED_THIS_WEEK)]).stdout;
    expect(text).toMatch(
      /scanned-this-week: conditions\n {2}att tag by key sha256:[0-9a-f]{16} \(cosign\.pub\): admitted the image\n {4}true +scanned in the last 7 days\n {4}true +no critical vulnerabilities\n/,
    );
  });

  it('check --online judges conditions as the webhook does', () => {
    const policy = policyOf(SCANNED_THIS_WEEK);
    const manifests = join(dirname(policy), 'pods.yaml');
    writeFileSync(
      manifests,
      ['fresh', 'critical']
        .map(
          (name) =>
            `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n    - name: app\n      image: ${image(name)}\n`,
        )
        .join('---\n'),
    );

    const run = runCli(['check', '-f', manifests, '--policy', policy, '--online', '-o', 'json']);

    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(JSON.stringify(report)).toContain(
      `has no satisfying attestation: attestation ${VULN} does not satisfy: no critical vulnerabilities`,
    );
    expect(report.summary).toMatchObject({ denied: 1, allowed: 1 });
  });
});
