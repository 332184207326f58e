import { Logger } from '@nestjs/common';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { issueCertificate } from '../../src/tls/certificate-issuer';
import { Sample, parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import {
  Crane,
  LocalRegistry,
  startRefusingProxy,
  startRegistry,
  startSilentServer,
} from './support/local-registry';
import { mutate, pod, writePolicy } from './support/pinning-client';
import request from 'supertest';

/**
 * Digest pinning through /mutate against a real registry: Debian's docker-registry on loopback,
 * with images pushed by crane. Every answer is checked as the apiserver would use it: the JSON Patch
 * applied to the object that was sent.
 */
describe('digest pinning against a real registry', () => {
  let pki: TestPki;
  let crane: Crane;
  let open: LocalRegistry;
  const servers: RunningWebhookServer[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  let app: string;
  let appV1: string;
  let latest: string;
  let index: string;
  let amd64: string;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    crane = new Crane();
    open = await startRegistry();
    stoppers.push(() => open.stop());
    app = `${open.host}/demo/app`;
    appV1 = await crane.push(`${app}:v1`, 'app v1');
    latest = await crane.push(`${app}:latest`, 'app latest');
    amd64 = await crane.push(`${open.host}/demo/multi:amd64`, 'multi amd64', { platform: 'linux/amd64' });
    const arm64 = await crane.push(`${open.host}/demo/multi:arm64`, 'multi arm64', {
      platform: 'linux/arm64',
    });
    index = await crane.index(`${open.host}/demo/multi:v1`, [
      `${open.host}/demo/multi@${amd64}`,
      `${open.host}/demo/multi@${arm64}`,
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    for (const stop of stoppers.reverse()) await stop();
  });

  const bouncer = async (spec: string): Promise<RunningWebhookServer> => {
    const server = await startTestServer(pki, { policyPath: writePolicy(spec), healthPort: true });
    servers.push(server);
    return server;
  };
  const insecure = (host: string): string => `registries:\n  - {host: "${host}", insecure: true}`;
  const metrics = async (server: RunningWebhookServer): Promise<Sample[]> =>
    parsePrometheusText((await request(server.healthServer!).get('/metrics').expect(200)).text);

  describe('with pinning on for a plain-HTTP registry', () => {
    let server: RunningWebhookServer;
    beforeAll(async () => {
      server = await bouncer(`${insecure(open.host)}\npinDigests: true\nrules: []\nallowPermissive: true`);
    });

    it('appends the digest to what the user wrote: repo:tag@sha256', async () => {
      const answer = await mutate(
        server,
        pki,
        pod({ web: `${app}:v1` }, { initContainers: { init: `${app}` } }),
      );
      expect(answer.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
      expect(answer.operations).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `${app}:v1@${appV1}` },
        { op: 'replace', path: '/spec/initContainers/0/image', value: `${app}:latest@${latest}` },
      ]);
      expect(answer.images).toEqual([`${app}:v1@${appV1}`, `${app}:latest@${latest}`]);
      expect(answer.response.warnings).toBeUndefined();
    });

    it('pins a multi-arch tag to its index, never to a platform manifest', async () => {
      const answer = await mutate(server, pki, pod({ web: `${open.host}/demo/multi:v1` }));
      expect(answer.images).toEqual([`${open.host}/demo/multi:v1@${index}`]);
      expect(index).not.toBe(amd64);
    });

    it('leaves an image that already has a digest alone, and a second call on its own output patches nothing', async () => {
      const first = await mutate(server, pki, pod({ a: `${app}:v1`, b: `${app}@${appV1}` }));
      expect(first.operations.map((op) => op.path)).toEqual(['/spec/containers/0/image']);
      const second = await mutate(server, pki, first.patched);
      expect(second.operations).toEqual([]);
      expect(second.response.patch).toBeUndefined();
      expect(second.images).toEqual(first.images);
    });

    it('leaves an unknown tag as written with a warning naming it, and still pins the others', async () => {
      const answer = await mutate(server, pki, pod({ web: `${app}:v1`, gone: `${app}:v404` }));
      expect(answer.images).toEqual([`${app}:v1@${appV1}`, `${app}:v404`]);
      expect(answer.response.allowed).toBe(true);
      expect(answer.response.warnings).toEqual([
        `container "gone" (containers): image ${app}:v404 was not pinned to a digest: not found`,
      ]);
      expect(JSON.parse(answer.response.auditAnnotations.unpinned)).toEqual({ [`${app}:v404`]: 'not found' });
    });

    it('patches nothing but images: every other field of the pod is as it was sent', async () => {
      const object: Record<string, unknown> = {
        ...pod({ web: `${app}:v1` }),
        metadata: { name: 'x', labels: { a: 'b' }, annotations: { 'x.io/y': 'z' } },
      };
      (object.spec as Record<string, unknown>).nodeSelector = { disk: 'ssd' };
      const answer = await mutate(server, pki, object);
      expect({ ...answer.patched, spec: { ...(answer.patched.spec as object), containers: [] } }).toEqual({
        ...object,
        spec: { ...(object.spec as object), containers: [] },
      });
    });

    it('pins the ephemeral containers kubectl debug adds, and only those the update introduces', async () => {
      const running = pod({ web: `${app}:v1@${appV1}` });
      const debugged = {
        ...running,
        spec: { ...(running.spec as object), ephemeralContainers: [{ name: 'debug', image: `${app}:v1` }] },
      };
      const answer = await mutate(server, pki, debugged, {
        operation: 'UPDATE',
        subResource: 'ephemeralcontainers',
        oldObject: running,
      });
      expect(answer.operations).toEqual([
        { op: 'replace', path: '/spec/ephemeralContainers/0/image', value: `${app}:v1@${appV1}` },
      ]);
    });

    it('leaves pod controllers alone unless the policy asks', async () => {
      const deployment = {
        spec: { template: { spec: { containers: [{ name: 'web', image: `${app}:v1` }] } } },
      };
      const answer = await mutate(server, pki, deployment, {
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      });
      expect(answer.operations).toEqual([]);
      expect(answer.response.auditAnnotations.unchecked).toBe('the policy does not pin pod controllers');
    });

    it('makes one registry lookup for a hundred concurrent reviews of one new tag', async () => {
      const digest = await crane.push(`${app}:burst`, 'burst');
      const before = open.requests().filter((r) => r.endsWith('/manifests/burst')).length;
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => mutate(server, pki, pod({ web: `${app}:burst` }))),
      );
      expect(new Set(answers.map((a) => a.images[0]))).toEqual(new Set([`${app}:burst@${digest}`]));
      // The registry logs each request when it has answered it.
      await delay(200);
      const lookups = open.requests().filter((r) => r.endsWith('/manifests/burst')).length - before;
      expect(lookups).toBe(1);
    });

    it('counts registry requests, pins and cache use in its metrics', async () => {
      await mutate(server, pki, pod({ web: `${app}:v1` }));
      const samples = await metrics(server);
      expect(
        sampleValue(samples, 'kube_image_bouncer_registry_requests_total', {
          registry: open.host,
          operation: 'resolve',
          outcome: 'ok',
        }),
      ).toBeGreaterThan(0);
      expect(
        sampleValue(samples, 'kube_image_bouncer_image_pins_total', { result: 'pinned' }),
      ).toBeGreaterThan(0);
      expect(sampleValue(samples, 'kube_image_bouncer_image_pins_total', { result: 'not found' })).toBe(1);
      expect(
        sampleValue(samples, 'kube_image_bouncer_cache_events_total', { cache: 'tag-digest', event: 'hit' }),
      ).toBeGreaterThan(0);
      expect(sampleValue(samples, 'kube_image_bouncer_registry_lookups_in_flight')).toBe(0);
    });
  });

  it('pins pod controllers when the policy says podControllers', async () => {
    const server = await bouncer(
      `${insecure(open.host)}\npinDigests: {podControllers: true}\nrules: []\nallowPermissive: true`,
    );
    const deployment = {
      spec: { template: { spec: { containers: [{ name: 'web', image: `${app}:v1` }] } } },
    };
    const answer = await mutate(server, pki, deployment, {
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    });
    expect(answer.operations).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${app}:v1@${appV1}` },
    ]);
  });

  it('pins only in the namespaces and for the images the policy scopes', async () => {
    const server = await bouncer(
      `${insecure(open.host)}\npinDigests: {namespaces: ["prod-*"], exemptImages: ["${open.host}/demo/multi"]}\nrules: []\nallowPermissive: true`,
    );
    expect((await mutate(server, pki, pod({ web: `${app}:v1` }), { namespace: 'dev' })).operations).toEqual(
      [],
    );
    const inProd = await mutate(server, pki, pod({ web: `${app}:v1`, multi: `${open.host}/demo/multi:v1` }), {
      namespace: 'prod-eu',
    });
    expect(inProd.images).toEqual([`${app}:v1@${appV1}`, `${open.host}/demo/multi:v1`]);
  });

  it('follows a tag that moved once its cache entry expired, and not before', async () => {
    const server = await bouncer(
      `${insecure(open.host)}\npinDigests: true\nregistryCache: {tagTtlSeconds: 1}\nrules: []\nallowPermissive: true`,
    );
    const first = await crane.push(`${app}:moving`, 'moving 1');
    expect((await mutate(server, pki, pod({ web: `${app}:moving` }))).images).toEqual([
      `${app}:moving@${first}`,
    ]);
    const second = await crane.push(`${app}:moving`, 'moving 2');
    expect(second).not.toBe(first);
    expect((await mutate(server, pki, pod({ web: `${app}:moving` }))).images).toEqual([
      `${app}:moving@${first}`,
    ]);
    await delay(1_100);
    expect((await mutate(server, pki, pod({ web: `${app}:moving` }))).images).toEqual([
      `${app}:moving@${second}`,
    ]);
  });

  describe('authentication', () => {
    it('resolves through htpasswd Basic auth with the credentials file, and says unauthorized without it', async () => {
      const basic = await startRegistry({
        storage: open.storage,
        auth: { basic: { username: 'ci', password: 's3cret' } },
      });
      stoppers.push(() => basic.stop());
      const withCredentials = writePolicy(
        `registries:\n  - {host: "${basic.host}", insecure: true, credentialsFile: config.json}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      writeFileSync(
        join(dirname(withCredentials), 'config.json'),
        JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }),
      );
      const server = await startTestServer(pki, { policyPath: withCredentials });
      servers.push(server);
      expect((await mutate(server, pki, pod({ web: `${basic.host}/demo/app:v1` }))).images).toEqual([
        `${basic.host}/demo/app:v1@${appV1}`,
      ]);

      const anonymous = await bouncer(
        `${insecure(basic.host)}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      const refused = await mutate(anonymous, pki, pod({ web: `${basic.host}/demo/app:v1` }));
      expect(refused.images).toEqual([`${basic.host}/demo/app:v1`]);
      expect(refused.response.warnings).toEqual([
        `container "web" (containers): image ${basic.host}/demo/app:v1 was not pinned to a digest: unauthorized`,
      ]);
    });

    it('says unauthorized for a wrong password', async () => {
      const basic = await startRegistry({
        storage: open.storage,
        auth: { basic: { username: 'ci', password: 'right' } },
      });
      stoppers.push(() => basic.stop());
      const policy = writePolicy(
        `registries:\n  - {host: "${basic.host}", insecure: true, credentialsFile: config.json}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      writeFileSync(
        join(dirname(policy), 'config.json'),
        JSON.stringify({ auths: { [basic.host]: { username: 'ci', password: 'wrong' } } }),
      );
      const server = await startTestServer(pki, { policyPath: policy });
      servers.push(server);
      const answer = await mutate(server, pki, pod({ web: `${basic.host}/demo/app:v1` }));
      expect(answer.response.warnings?.[0]).toMatch(/was not pinned to a digest: unauthorized$/);
    });

    it('takes a Bearer token from the realm the registry names, and reuses it until it expires', async () => {
      const bearer = await startRegistry({
        storage: open.storage,
        auth: { token: { username: 'ci', password: 'tok' } },
      });
      stoppers.push(() => bearer.stop());
      const realmHost = new URL(bearer.tokenServer!.realm).host;
      const policy = writePolicy(
        [
          'registries:',
          `  - {host: "${bearer.host}", insecure: true, credentialsFile: config.json}`,
          // The realm is on loopback: only a host the policy lists may be.
          `  - {host: "${realmHost}", insecure: true}`,
          'pinDigests: true',
          'rules: []',
          'allowPermissive: true',
        ].join('\n'),
      );
      writeFileSync(
        join(dirname(policy), 'config.json'),
        JSON.stringify({ auths: { [bearer.host]: { username: 'ci', password: 'tok' } } }),
      );
      const server = await startTestServer(pki, { policyPath: policy });
      servers.push(server);
      expect((await mutate(server, pki, pod({ web: `${bearer.host}/demo/app:v1` }))).images).toEqual([
        `${bearer.host}/demo/app:v1@${appV1}`,
      ]);
      expect((await mutate(server, pki, pod({ web: `${bearer.host}/demo/app:latest` }))).images).toEqual([
        `${bearer.host}/demo/app:latest@${latest}`,
      ]);
      expect(bearer.tokenServer!.requests).toEqual([{ scope: 'repository:demo/app:pull', authorized: true }]);
    });

    it('refuses a token realm on loopback that the policy does not list', async () => {
      const bearer = await startRegistry({
        storage: open.storage,
        auth: { token: { username: 'ci', password: 'tok' } },
      });
      stoppers.push(() => bearer.stop());
      const server = await bouncer(
        `${insecure(bearer.host)}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      const answer = await mutate(server, pki, pod({ web: `${bearer.host}/demo/app:v1` }));
      expect(answer.response.warnings?.[0]).toMatch(/was not pinned to a digest: unauthorized$/);
      expect(bearer.tokenServer!.requests).toEqual([]);
    });
  });

  it('reaches a registry behind TLS with its own CA through caFile, and not without it', async () => {
    const registryCert = await issueCertificate(pki.otherCa, {
      commonName: 'registry',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    const secure = await startRegistry({ storage: open.storage, tls: registryCert });
    stoppers.push(() => secure.stop());
    const policy = writePolicy(
      `registries:\n  - {host: "${secure.host}", caFile: registry-ca.pem}\npinDigests: true\nrules: []\nallowPermissive: true`,
    );
    writeFileSync(join(dirname(policy), 'registry-ca.pem'), pki.otherCa.certificatePem);
    const server = await startTestServer(pki, { policyPath: policy });
    servers.push(server);
    expect((await mutate(server, pki, pod({ web: `${secure.host}/demo/app:v1` }))).images).toEqual([
      `${secure.host}/demo/app:v1@${appV1}`,
    ]);

    // Listed, as a registry on loopback must be, but without its CA: the system's roots alone.
    const systemRootsOnly = await bouncer(
      `registries:\n  - {host: "${secure.host}"}\npinDigests: true\nrules: []\nallowPermissive: true`,
    );
    const refused = await mutate(systemRootsOnly, pki, pod({ web: `${secure.host}/demo/app:v1` }));
    expect(refused.response.warnings?.[0]).toMatch(/was not pinned to a digest: unreachable$/);

    const unlisted = await bouncer('pinDigests: true\nrules: []\nallowPermissive: true');
    const notContacted = await mutate(unlisted, pki, pod({ web: `${secure.host}/demo/app:v1` }));
    expect(notContacted.response.warnings?.[0]).toMatch(
      /was not pinned to a digest: private registry not in spec.registries$/,
    );
  });

  describe('a registry that limits its rate', () => {
    it('waits out a Retry-After that fits in the deadline', async () => {
      const proxy = await startRefusingProxy(open.host, {
        status: 429,
        count: 1,
        retryAfter: '1',
        path: /manifests/,
      });
      stoppers.push(() => proxy.stop());
      const server = await bouncer(
        `${insecure(proxy.host)}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      expect((await mutate(server, pki, pod({ web: `${proxy.host}/demo/app:v1` }))).images).toEqual([
        `${proxy.host}/demo/app:v1@${appV1}`,
      ]);
      expect(proxy.refused()).toBe(1);
    });

    it('says rate limited when Retry-After lies beyond the deadline', async () => {
      const proxy = await startRefusingProxy(open.host, {
        status: 429,
        count: 5,
        retryAfter: '60',
        path: /manifests/,
      });
      stoppers.push(() => proxy.stop());
      const server = await bouncer(
        `${insecure(proxy.host)}\npinDigests: true\nrules: []\nallowPermissive: true`,
      );
      const answer = await mutate(server, pki, pod({ web: `${proxy.host}/demo/app:v1` }));
      expect(answer.response.warnings).toEqual([
        `container "web" (containers): image ${proxy.host}/demo/app:v1 was not pinned to a digest: rate limited`,
      ]);
    });
  });

  it('answers when a registry accepts the connection and never answers, naming the timeout, and still pins the others', async () => {
    const silent = await startSilentServer();
    stoppers.push(() => silent.stop());
    const server = await bouncer(
      `registries:\n  - {host: "${silent.host}", insecure: true}\n  - {host: "${open.host}", insecure: true}\nregistryTimeoutSeconds: 1\npinDigests: true\nrules: []\nallowPermissive: true`,
    );
    const answer = await mutate(server, pki, pod({ hung: `${silent.host}/demo/app:v1`, web: `${app}:v1` }));
    expect(answer.images).toEqual([`${silent.host}/demo/app:v1`, `${app}:v1@${appV1}`]);
    expect(answer.response.warnings).toEqual([
      `container "hung" (containers): image ${silent.host}/demo/app:v1 was not pinned to a digest: timed out`,
    ]);
  });
});
