import { applyPatch, deepClone, Operation } from 'fast-json-patch';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../../src/server/webhook-server';
import { POD_KIND, admissionReview } from '../../support/reviews';
import { TestPki } from '../../support/test-pki';

/** A policy file in a folder of its own, so that files it names can sit beside it. */
export function writePolicy(spec: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kib-registry-policy-'));
  const path = join(dir, 'policy.yaml');
  writeFileSync(
    path,
    `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: registry-test}\nspec:\n${spec.replace(/^/gm, '  ')}\n`,
  );
  return path;
}

export const pod = (
  containers: Record<string, string>,
  lists: { initContainers?: Record<string, string> } = {},
) =>
  POD_KIND.wrap({
    containers: Object.entries(containers).map(([name, image]) => ({ name, image })),
    ...(lists.initContainers
      ? { initContainers: Object.entries(lists.initContainers).map(([name, image]) => ({ name, image })) }
      : {}),
  });

export interface MutateAnswer {
  readonly response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    warnings?: string[];
    auditAnnotations: Record<string, string>;
    status?: { message: string };
  };
  /** The JSON Patch decoded, and checked to apply to what was sent. */
  readonly operations: Operation[];
  /** The object as the apiserver stores it once the patch is applied. */
  readonly patched: Record<string, unknown>;
  readonly images: string[];
}

/** POST /mutate over the server's real TLS, decoding and applying the patch as the apiserver would. */
export async function mutate(
  server: RunningWebhookServer,
  pki: TestPki,
  object: Record<string, unknown>,
  options: Parameters<typeof admissionReview>[0] = {},
): Promise<MutateAnswer> {
  const { body } = await request(server.tlsServer)
    .post('/mutate')
    .ca(pki.ca.certificatePem)
    .send(admissionReview({ object, ...options }))
    .expect(200);
  const response = (body as { response: MutateAnswer['response'] }).response;
  const operations: Operation[] = response.patch
    ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[])
    : [];
  const patched = applyPatch(deepClone(object), operations, true, false).newDocument as Record<
    string,
    unknown
  >;
  const spec = (patched.spec ?? {}) as Record<string, { image: string }[] | undefined>;
  const images = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((list) =>
    (spec[list] ?? []).map((c) => c.image),
  );
  return { response, operations, patched, images };
}
