import { Logger } from '@nestjs/common';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryAccess, RegistryClient, registryDeadline } from '../../src/registry';
import { ClassicLayer, CosignWriter, byKeys, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry, digestOf, tagFor } from '../../src/testing/fake-registry';
import { LoopbackListener } from '../../src/testing/loopback-server';
import { engineFor } from '../../src/testing/policy-engine';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/certificate-issuer';
import { ImageVerifier, VerificationResult } from '../../src/verification';
import { underPolicy } from './support/under-policy';

/**
 * Class 1 of SECURITY.md: a registry answers with redirects, to make the bouncer call into its own
 * network (a metadata endpoint, an admin port), to strip TLS, or to loop. Every hop goes through
 * the connection guard; a refused one never opens a connection, and reads the same whatever
 * listens where it pointed.
 */
describe('class 1: a registry that redirects', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();
  const trust = byKeys(ci.publicPem);
  /** A service inside the bouncer's network: 127.0.0.1 on a port the policy does not list. */
  const inside = new LoopbackListener('{"Code":"Success","AccessKeyId":"internal"}');
  let repositories = 0;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    await Promise.all([registry.start(), inside.start()]);
  });

  afterAll(async () => {
    await Promise.all([registry.stop(), inside.stop()]);
  });

  beforeEach(() => {
    registry.intercept = undefined;
    inside.requests.length = 0;
  });

  /** An image signed by CI, and a second signature layer whose blob the registry redirects. */
  function signedImage(): { repository: string; digest: string; redirected: string } {
    const repository = `demo/redirected-${++repositories}`;
    const digest = cosign.image(repository);
    const good = cosign.classicSignature(repository, digest, ci.privateKey);
    // A layer of its own bytes, so that only it is redirected.
    const other: ClassicLayer = {
      payload: Buffer.from(`{"critical":{},"optional":{"layer":${repositories}}}`),
      signature: Buffer.from('x'),
    };
    cosign.pushSignatures(repository, digest, [good, other]);
    return { repository, digest, redirected: digestOf(other.payload) };
  }

  /** The registry answers GETs of `path` with a redirect to `location`, and serves the rest. */
  const redirect = (path: string | RegExp, location: (request: IncomingMessage) => string, status = 307) => {
    registry.intercept = (request: IncomingMessage, response: ServerResponse): boolean => {
      const url = request.url ?? '';
      if (typeof path === 'string' ? url !== path : !path.test(url)) return false;
      response.writeHead(status, { Location: location(request) }).end();
      return true;
    };
  };

  /** A verification with a fresh client and verifier: no connection or verdict carried over. */
  async function verify(
    image: { repository: string; digest: string },
    access: RegistryAccess = registry.access,
  ): Promise<VerificationResult> {
    const client = new RegistryClient();
    try {
      return await new ImageVerifier(client).verify(
        {
          access,
          repository: image.repository,
          digest: image.digest,
          policyRevision: 'r1',
          successTtlMs: 60_000,
          failureTtlMs: 60_000,
        },
        { kind: 'signatures', trust },
        registryDeadline(10_000),
      );
    } finally {
      await client.onModuleDestroy();
    }
  }

  const words = (result: VerificationResult): string => JSON.stringify(result);

  it('never fetches a blob redirected to a private address the policy does not list; the other signature still counts', async () => {
    const image = signedImage();
    redirect(
      `/v2/${image.repository}/blobs/${image.redirected}`,
      () => `http://${inside.host}/latest/meta-data/`,
    );

    const result = await verify(image);

    expect(inside.requests).toEqual([]);
    expect(result.verified).toBe(true);
    expect(words(result)).toContain(
      `redirect to ${inside.host} is a private address the policy does not list`,
    );
  });

  it('refuses in the same words whether anything listens at the refused address or not', async () => {
    const image = signedImage();
    const target = new LoopbackListener();
    await target.start();
    redirect(`/v2/${image.repository}/blobs/${image.redirected}`, () => `http://${target.host}/admin`);
    const withListener = await verify(image);
    await target.stop();
    const withoutListener = await verify(image);

    expect(target.requests).toEqual([]);
    // Everything but how long it took.
    expect({ ...withoutListener, ms: 0 }).toEqual({ ...withListener, ms: 0 });
    expect(words(withListener)).toContain(
      `redirect to ${target.host} is a private address the policy does not list`,
    );
  });

  it('refuses a redirect from https down to http, even to a host the policy lists', async () => {
    const ca = await createCertificateAuthority({ commonName: 'registry CA' });
    const leaf = await issueCertificate(ca, {
      commonName: 'registry',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    const secure = new FakeRegistry();
    await secure.start({ cert: leaf.certificatePem, key: leaf.privateKeyPem, ca: ca.certificatePem });
    const plain = new LoopbackListener();
    await plain.start();
    try {
      const writer = new CosignWriter(secure);
      const repository = 'demo/downgraded';
      const digest = writer.image(repository);
      const signature = writer.classicSignature(repository, digest, ci.privateKey);
      writer.pushSignatures(repository, digest, [signature]);
      secure.intercept = (request, response) => {
        if (request.url !== `/v2/${repository}/blobs/${digestOf(signature.payload)}`) return false;
        response.writeHead(302, { Location: `http://${plain.host}/blob` }).end();
        return true;
      };

      const result = await verify({ repository, digest }, secure.listedAccess(plain.host));

      expect(plain.requests).toEqual([]);
      expect(result.verified).toBe(false);
      expect(words(result)).toContain(`redirect to http://${plain.host} would go from https down to http`);
    } finally {
      await Promise.all([secure.stop(), plain.stop()]);
    }
  });

  it('follows 20 redirects, the Fetch standard limit, and refuses the 21st without following it', async () => {
    const image = signedImage();
    const blob = `/v2/${image.repository}/blobs/${image.redirected}`;
    registry.intercept = (request, response) => {
      const url = request.url ?? '';
      const hop = url === blob ? 0 : Number(/^\/hop\/(\d+)$/.exec(url)?.[1] ?? NaN);
      if (Number.isNaN(hop)) return false;
      response.writeHead(307, { Location: `/hop/${hop + 1}` }).end();
      return true;
    };

    const result = await verify(image);

    const chain = registry.requests.filter((r) => r.includes(blob) || r.includes('/hop/'));
    expect(chain).toEqual([`GET ${blob}`, ...Array.from({ length: 20 }, (_, i) => `GET /hop/${i + 1}`)]);
    expect(result.verified).toBe(true);
    expect(words(result)).toContain('more than 20 redirects');
  });

  it('follows an allowed cross-host hop to blob storage the policy lists, for manifests as for blobs, without the registry credentials', async () => {
    const storage = new FakeRegistry();
    await storage.start();
    try {
      const repository = 'demo/on-a-cdn';
      const digest = cosign.image(repository);
      const signatures = new CosignWriter(storage);
      signatures.pushSignatures(repository, digest, [
        signatures.classicSignature(repository, digest, ci.privateKey),
      ]);
      const basic = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
      // registry.k8s.io redirects manifest requests as well as blobs; Docker Hub and ECR, blobs.
      registry.intercept = (request, response) => {
        const url = request.url ?? '';
        if (!url.startsWith(`/v2/${repository}/`)) return false;
        if (request.headers.authorization !== basic)
          response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="registry"' }).end();
        else response.writeHead(307, { Location: `${storage.origin}${url}` }).end();
        return true;
      };
      const authorizations: (string | undefined)[] = [];
      storage.intercept = (request) => {
        authorizations.push(request.headers.authorization);
        return false;
      };
      const access = {
        ...registry.listedAccess(storage.host),
        credential: { username: 'ci', password: 's3cret' },
      };

      const result = await verify({ repository, digest }, access);

      expect(result.verified).toBe(true);
      expect(storage.requests).toEqual(
        expect.arrayContaining([
          `GET /v2/${repository}/manifests/${tagFor(digest, '.sig')}`,
          expect.stringMatching(new RegExp(`^GET /v2/${repository}/blobs/sha256:`)),
        ]),
      );
      expect(authorizations).toEqual(storage.requests.map(() => undefined));
    } finally {
      await storage.stop();
    }
  });

  it('sends no request to a refused address even for an image an enforced allow-list already denied', async () => {
    const image = signedImage();
    redirect(/\/blobs\//, () => `http://${inside.host}/`);
    const dir = mkdtempSync(join(tmpdir(), 'adversarial-redirects-'));
    writeFileSync(join(dir, 'cosign.pub'), ci.publicPem);
    const policy = underPolicy(
      [
        'apiVersion: kube-image-bouncer.io/v1alpha1',
        'kind: ImagePolicy',
        'metadata: {name: redirects}',
        'spec:',
        `  registries: [{host: "${registry.access.registry}", insecure: true}]`,
        '  rules:',
        '    - {name: only-example, allowedRepositories: ["registry.example.com/**"]}',
        '    - {name: signed-by-ci, verifySignatures: {keys: [cosign.pub]}}',
      ].join('\n'),
      join(dir, 'policy.yaml'),
    );
    const client = new RegistryClient();

    try {
      const decision = await engineFor(policy, client).evaluate({
        images: [{ image: `${registry.access.registry}/${image.repository}@${image.digest}` }],
      });

      expect(decision.allowed).toBe(false);
      expect(decision.verdicts[0].violations.map((v) => v.rule)).toContain('only-example');
      expect(inside.requests).toEqual([]);
    } finally {
      await client.onModuleDestroy();
    }
  });
});
