import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_MEDIA_TYPES } from '../src/registry';
import { Cosign } from '../test/registry/support/cosign';
import { Crane, LocalRegistry, startRegistry } from '../test/registry/support/local-registry';
import { BenchPayload, podReview } from './payloads';

/**
 * What the registry payloads need, made as the registry tier makes it: Debian's docker-registry on
 * a loopback port, an image pushed by crane, another signed by the real cosign with a key of its
 * own, and policies that reach them over plain HTTP.
 */
export interface BenchRegistry {
  readonly registry: LocalRegistry;
  /** `host/demo/app:v1`, pushed by crane; and `host/demo/signed:v1`, signed by cosign. */
  readonly images: { readonly app: string; readonly signed: string };
  /** Policy files: warm caches (the defaults) and cold (every cache off that the path has). */
  readonly policies: {
    readonly pin: string;
    readonly pinCold: string;
    readonly verify: string;
    readonly verifyCold: string;
  };
  readonly payloads: {
    /** The Pod AdmissionReview with every image `app`, to /mutate and to /validate. */
    readonly mutate: BenchPayload;
    readonly validateSamePod: BenchPayload;
    /** The Pod AdmissionReview with every image `signed`, to /validate. */
    readonly verified: BenchPayload;
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

export async function startBenchRegistry(scratch: string): Promise<BenchRegistry> {
  const registry = await startRegistry();
  try {
    const crane = new Crane();
    const cosign = new Cosign();
    const app = `${registry.host}/demo/app:v1`;
    const signed = `${registry.host}/demo/signed:v1`;
    await crane.push(app, 'bench app');
    const signedDigest = await crane.push(signed, 'bench signed');
    const key = await cosign.generateKeyPair('bench');
    await cosign.sign(`${registry.host}/demo/signed@${signedDigest}`, 'bench');

    const dir = join(scratch, 'policies');
    mkdirSync(dir, { recursive: true });
    const registries = `registries: [{host: ${JSON.stringify(registry.host)}, insecure: true}]`;
    const noLatest = '  - {name: no-latest, disallowedTags: [latest]}';
    const signedByCi = `  - {name: signed-by-ci, verifySignatures: {keys: [${JSON.stringify(key)}]}}`;
    const policies = {
      pin: writePolicy(dir, 'pin', [registries, 'pinDigests: true', 'rules:', noLatest]),
      pinCold: writePolicy(dir, 'pin-cold', [
        registries,
        'pinDigests: true',
        'registryCache: {tagTtlSeconds: 0}',
        'rules:',
        noLatest,
      ]),
      verify: writePolicy(dir, 'verify', [registries, 'rules:', noLatest, signedByCi]),
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
      images: { app, signed },
      policies,
      payloads: {
        mutate: { name: 'Pod /mutate, pinned from the registry', path: '/mutate', body: appPod },
        validateSamePod: { name: 'the same Pod to /validate', path: '/validate', body: appPod },
        verified: {
          name: 'Pod AdmissionReview, cosign-signed image',
          path: '/validate',
          body: podReview(signed),
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
    await registry.stop();
    throw error;
  }
}
