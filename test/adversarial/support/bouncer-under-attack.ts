import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../../src/server/webhook-server';
import { TestPki, createTestPki } from '../../support/test-pki';
import { startTestServer } from '../../support/webhook-server.fixture';

/** What the apiserver reads of an AdmissionReview reply. */
export interface AdmissionReply {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
  readonly patch?: string;
  readonly auditAnnotations?: Record<string, string>;
}

/**
 * The real Nest app over real HTTPS, serving one policy written for the attack at hand: what an
 * attacker who may create pods reaches. `files` are written beside the policy (keys, say).
 */
export class BouncerUnderAttack {
  private pki?: TestPki;
  private server?: RunningWebhookServer;
  private folder?: string;

  /** Serves `policyYaml`, or the built-in default policy when there is none. */
  async start(policyYaml?: string, files: Record<string, string> = {}): Promise<void> {
    this.folder = mkdtempSync(join(tmpdir(), 'kib-adversarial-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.folder, name), text);
    let policyPath: string | undefined;
    if (policyYaml !== undefined) {
      policyPath = join(this.folder, 'policy.yaml');
      writeFileSync(policyPath, policyYaml);
    }
    this.pki ??= await createTestPki();
    this.server = await startTestServer(this.pki, { policyPath });
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
  }

  /** POSTs a review body and returns the reply, which must be HTTP 200 with JSON. */
  async post(
    path: '/validate' | '/mutate' | '/image_policy',
    body: object,
  ): Promise<Record<string, unknown>> {
    const reply = await request(this.server!.tlsServer).post(path).ca(this.pki!.ca.certificatePem).send(body);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    return reply.body as Record<string, unknown>;
  }

  /** The AdmissionReview `response` the validating (or mutating) webhook gives for this request. */
  async admission(
    path: '/validate' | '/mutate',
    admissionRequest: Record<string, unknown>,
    apiVersion = 'admission.k8s.io/v1',
  ): Promise<AdmissionReply> {
    const body = await this.post(path, { apiVersion, kind: 'AdmissionReview', request: admissionRequest });
    return body.response as AdmissionReply;
  }

  /** The bouncer's metrics now, as Prometheus scrapes them from the TLS port. */
  async metrics(): Promise<string> {
    const reply = await request(this.server!.tlsServer).get('/metrics').ca(this.pki!.ca.certificatePem);
    expect(reply.status).toBe(200);
    return reply.text;
  }

  /** The ImageReview status ImagePolicyWebhook gets for these images. */
  async imageReview(
    images: readonly string[],
    namespace = 'default',
  ): Promise<{ allowed: boolean; reason?: string }> {
    const body = await this.post('/image_policy', {
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: { containers: images.map((image) => ({ image })), namespace },
    });
    return body.status as { allowed: boolean; reason?: string };
  }
}

let uids = 0;

/** An AdmissionRequest for a Pod (or its ephemeralcontainers subresource), as the apiserver sends it. */
export function podRequest(
  object: Record<string, unknown>,
  options: {
    operation?: 'CREATE' | 'UPDATE';
    oldObject?: Record<string, unknown>;
    subResource?: string;
    namespace?: string;
    kind?: { group: string; version: string; kind: string };
    resource?: string;
  } = {},
): Record<string, unknown> {
  const kind = options.kind ?? { group: '', version: 'v1', kind: 'Pod' };
  return {
    uid: `00000000-0000-4000-8000-${String(++uids).padStart(12, '0')}`,
    kind,
    resource: { group: kind.group, version: kind.version, resource: options.resource ?? 'pods' },
    ...(options.subResource ? { subResource: options.subResource } : {}),
    namespace: options.namespace ?? 'default',
    operation: options.operation ?? 'CREATE',
    object,
    ...(options.oldObject ? { oldObject: options.oldObject } : {}),
    userInfo: { username: 'attacker' },
    dryRun: false,
  };
}
