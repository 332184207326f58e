import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_MEDIA_TYPES } from '../src/registry';
import { Cosign, localSigningConfig } from '../test/registry/support/cosign';
import { Crane, LocalRegistry, startRegistry } from '../test/registry/support/local-registry';
import { Notation } from '../test/registry/support/notation';
import { startTimestampAuthority } from '../test/registry/support/timestamp-authority';
import { BenchPayload, podReview } from './payloads';

/**
 * What the registry payloads need, made as the registry tier makes it: Debian's docker-registry on
 * a loopback port, an image pushed by crane, one signed by the real cosign v3 (its default bundle,
 * with an RFC 3161 timestamp from sigstore's timestamp-server on loopback), one signed by the real
 * notation (JWS, with a timestamp from the same TSA), and policies that reach them over plain HTTP.
 */
export interface BenchRegistry {
  readonly registry: LocalRegistry;
  /**
   * `host/demo/app:v1`, pushed by crane; `host/demo/signed:v1`, a cosign v3 bundle with a
   * timestamp; `host/demo/notarized:v1`, a Notary Project signature with a timestamp.
   */
  readonly images: { readonly app: string; readonly signed: string; readonly notarized: string };
  /** Policy files: warm caches (the defaults) and cold (every cache off that the path has). */
  readonly policies: {
    readonly pin: string;
    readonly pinCold: string;
    readonly verify: string;
    readonly verifyCold: string;
    /** verifySignatures with a verification ledger and no verdict cache: every review asks the ledger in an outage. */
    readonly verifyLedger: string;
    /** verifyAttestations of the signed image's SLSA v1 provenance, with the two conditions. */
    readonly attested: string;
  };
  readonly payloads: {
    /** The Pod AdmissionReview with every image `app`, to /mutate and to /validate. */
    readonly mutate: BenchPayload;
    readonly validateSamePod: BenchPayload;
    /** The Pod AdmissionReview whose containers run `signed`, `notarized`, `signed`, to /validate. */
    readonly verified: BenchPayload;
    /** The Pod AdmissionReview whose three containers run `signed`, which carries the SLSA attestation. */
    readonly attested: BenchPayload;
    /** The same, every image `signed` pinned by its digest: what a registry outage can still admit. */
    readonly verifiedByDigest: BenchPayload;
  };
  /** What a tag lookup asks of the registry: the HEAD the resolver sends, for its own latency. */
  readonly tagHead: { readonly port: number; readonly path: string; readonly accept: string };
  stop(): Promise<void>;
}

function writePolicy(dir: string, name: string, spec: string[]): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'apiVersion: kube-image-bouncer.io/v1alpha1',
      'kind: ImagePolicy',
      `metadata: {name: bench-${name}}`,
      'spec:',
      ...spec.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  return path;
}

const RELEASE_WORKFLOW = 'https://github.com/acme/.github/workflows/release.yml@refs/heads/main';

export async function startBenchRegistry(scratch: string): Promise<BenchRegistry> {
  const registry = await startRegistry();
  // The TSA is needed only to sign: verification is offline, from the policy's files.
  const tsa = await startTimestampAuthority('bench tsa');
  try {
    const crane = new Crane();
    const cosign = new Cosign('cosign3');
    const notation = new Notation();
    const app = `${registry.host}/demo/app:v1`;
    const signed = `${registry.host}/demo/signed:v1`;
    const notarized = `${registry.host}/demo/notarized:v1`;
    await crane.push(app, 'bench app');
    const signedDigest = await crane.push(signed, 'bench signed');
    const notarizedDigest = await crane.push(notarized, 'bench notarized');
    const key = await cosign.generateKeyPair('bench');
    await cosign.sign(`${registry.host}/demo/signed@${signedDigest}`, 'bench', {
      signingConfig: localSigningConfig(cosign.dir, tsa),
    });
    await cosign.attest(`${registry.host}/demo/signed@${signedDigest}`, 'bench', 'slsaprovenance1', {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            ref: 'refs/heads/main',
            repository: 'https://github.com/acme/app',
            path: '.github/workflows/release.yml',
          },
        },
      },
      runDetails: { builder: { id: RELEASE_WORKFLOW } },
    });
    const notationCertificate = await notation.generateTestCertificate('bench.example');
    const tsaChain = join(cosign.dir, 'tsa-chain.pem');
    const tsaRoot = join(cosign.dir, 'tsa-root.pem');
    writeFileSync(tsaChain, tsa.chainPem);
    writeFileSync(tsaRoot, tsa.rootPem);
    // The TSA states its time ±1 s, which notation wants inside the certificate's validity.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await notation.sign(`${registry.host}/demo/notarized@${notarizedDigest}`, {
      timestamp: { url: tsa.url, rootPath: tsaRoot },
    });
    await tsa.stop();

    const dir = join(scratch, 'policies');
    mkdirSync(dir, { recursive: true });
    const registries = `registries: [{host: ${JSON.stringify(registry.host)}, insecure: true}]`;
    const noLatest = '  - {name: no-latest, disallowedTags: [latest]}';
    const signedByCi =
      `  - {name: signed-by-ci, verifySignatures: {keys: [${JSON.stringify(key)}], ` +
      `certificates: {timestampAuthorities: [${JSON.stringify(tsaChain)}], requireTimestamp: true}, ` +
      `notation: {trustStore: [${JSON.stringify(notationCertificate)}], trustedIdentities: ["*"], ` +
      `timestampAuthorities: [${JSON.stringify(tsaRoot)}]}}}`;
    const ledgerDir = join(scratch, 'ledger');
    const policies = {
      verifyLedger: writePolicy(dir, 'verify-ledger', [
        registries,
        'registryCache: {verificationTtlSeconds: 0}',
        `verificationLedger: {path: ${JSON.stringify(ledgerDir)}, admitVerifiedWithin: 24h}`,
        'rules:',
        noLatest,
        signedByCi,
      ]),
      pin: writePolicy(dir, 'pin', [registries, 'pinDigests: true', 'rules:', noLatest]),
      pinCold: writePolicy(dir, 'pin-cold', [
        registries,
        'pinDigests: true',
        'registryCache: {tagTtlSeconds: 0}',
        'rules:',
        noLatest,
      ]),
      verify: writePolicy(dir, 'verify', [registries, 'rules:', noLatest, signedByCi]),
      attested: writePolicy(dir, 'attested', [
        registries,
        'rules:',
        noLatest,
        '  - name: built-by-our-ci',
        '    verifyAttestations:',
        `      keys: [${JSON.stringify(key)}]`,
        '      predicateType: https://slsa.dev/provenance/v1',
        '      conditions:',
        `        - expression: 'predicate.runDetails.builder.id == "${RELEASE_WORKFLOW}"'`,
        '          message: built by the release workflow on main',
        `        - expression: 'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"'`,
      ]),
      verifyCold: writePolicy(dir, 'verify-cold', [
        registries,
        'registryCache: {tagTtlSeconds: 0, verificationTtlSeconds: 0, verificationFailureTtlSeconds: 0}',
        'rules:',
        noLatest,
        signedByCi,
      ]),
    };
    const appPod = podReview(app);
    return {
      registry,
      images: { app, signed, notarized },
      policies,
      payloads: {
        mutate: { name: 'Pod /mutate, pinned from the registry', path: '/mutate', body: appPod },
        validateSamePod: { name: 'the same Pod to /validate', path: '/validate', body: appPod },
        verified: {
          name: 'Pod AdmissionReview, cosign v3 and Notary Project signatures with timestamps',
          path: '/validate',
          body: podReview([signed, notarized, signed]),
        },
        // The image that carries the attestation, in a Pod of the same three containers.
        attested: {
          name: 'Pod AdmissionReview, the cosign-attested image',
          path: '/validate',
          body: podReview([signed, signed, signed]),
        },
        verifiedByDigest: {
          name: 'Pod AdmissionReview, cosign-signed image by digest',
          path: '/validate',
          body: podReview(`${registry.host}/demo/signed@${signedDigest}`),
        },
      },
      tagHead: {
        port: Number(registry.host.split(':')[1]),
        path: '/v2/demo/app/manifests/v1',
        accept: MANIFEST_MEDIA_TYPES.join(', '),
      },
      stop: () => registry.stop(),
    };
  } catch (error) {
    await Promise.all([registry.stop(), tsa.stop()]);
    throw error;
  }
}
