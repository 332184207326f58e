import { IMAGE_POLICY_API_VERSION, OBJECT_METADATA_SCHEMA } from '../policy';

export const IMAGE_POLICY_TEST_KIND = 'ImagePolicyTest';
export const DECISIONS = ['allow', 'warn', 'deny'] as const;
export type ExpectedDecision = (typeof DECISIONS)[number];

const nonEmptyText = { type: 'string', minLength: 1 };

/**
 * The JSON Schema of a policy test suite (`kube-image-bouncer test`), in the style of `kyverno
 * test` and `gator verify`: a policy, and tests that each name images, or a manifest, with what the
 * policy must decide for each image. `schema/image-policy-test.schema.json` is this, written out
 * for editors by `npm run schema`.
 */
export function buildImagePolicyTestSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://kube-image-bouncer.io/schemas/image-policy-test.v1alpha1.json',
    title: 'kube-image-bouncer ImagePolicyTest',
    type: 'object',
    required: ['apiVersion', 'kind', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: IMAGE_POLICY_API_VERSION },
      kind: { const: IMAGE_POLICY_TEST_KIND },
      metadata: OBJECT_METADATA_SCHEMA,
      spec: {
        type: 'object',
        required: ['policy', 'tests'],
        additionalProperties: false,
        properties: {
          policy: {
            ...nonEmptyText,
            description: 'The ImagePolicy file under test, relative to this file.',
          },
          tests: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['name', 'images'],
              additionalProperties: false,
              properties: {
                name: { ...nonEmptyText, description: 'What the test shows, as the results table names it.' },
                namespace: {
                  ...nonEmptyText,
                  default: 'default',
                  description:
                    'The namespace the pod is created in; for a manifest, of the objects whose metadata names none.',
                },
                annotations: {
                  type: 'object',
                  additionalProperties: { type: 'string' },
                  description:
                    'Annotations of the pod the images run in, e.g. a break-glass ticket. Not with manifest: its objects carry their own.',
                },
                manifest: {
                  ...nonEmptyText,
                  description:
                    'A manifest file, relative to this file, whose pod specs are judged as `check` judges them. Every image in it needs an expectation.',
                },
                attestations: {
                  type: 'array',
                  minItems: 1,
                  description:
                    "Attestations verifyAttestations rules read instead of the registry, for every image of the test, so that conditions are tested without one. A statement file is taken as verified; an envelope file is verified with key, or with the rule's own keys.",
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    oneOf: [{ required: ['statement'] }, { required: ['envelope'] }],
                    properties: {
                      statement: {
                        ...nonEmptyText,
                        description: 'An in-toto statement (JSON), relative to this file.',
                      },
                      envelope: {
                        ...nonEmptyText,
                        description:
                          'A DSSE envelope (JSON, as `cosign download attestation` writes one per line), relative to this file.',
                      },
                      key: {
                        ...nonEmptyText,
                        description:
                          "The PEM public key the envelope must verify with, relative to this file; left out, the rule's own keys.",
                      },
                    },
                    dependencies: { key: ['envelope'] },
                  },
                },
                images: {
                  type: 'array',
                  minItems: 1,
                  description:
                    'Without manifest: the images of one pod, judged as one review. With it: what each of its images must come to.',
                  items: {
                    type: 'object',
                    required: ['image', 'decision'],
                    additionalProperties: false,
                    properties: {
                      image: { ...nonEmptyText, description: 'The image as written in the pod spec.' },
                      decision: {
                        enum: [...DECISIONS],
                        description:
                          'allow; warn (admitted, with a warning kubectl shows, or let through by break-glass); deny.',
                      },
                      rules: {
                        type: 'array',
                        uniqueItems: true,
                        items: nonEmptyText,
                        description:
                          'Exactly the rules the image violates, any enforcement, in any order; [] for none. Left out, only the decision is checked.',
                      },
                    },
                  },
                },
              },
              not: { required: ['manifest', 'annotations'] },
            },
          },
        },
      },
    },
  };
}
