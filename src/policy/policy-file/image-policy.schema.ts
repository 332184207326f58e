import { DEFAULT_BREAK_GLASS_MAX_HOURS } from '../break-glass';
import type { ImageRule, JsonSchema } from '../rules/image-rule';

export type JsonSchemaOf = JsonSchema;

export const IMAGE_POLICY_API_VERSION = 'kube-image-bouncer.io/v1alpha1';
export const IMAGE_POLICY_KIND = 'ImagePolicy';
export const ENFORCEMENTS = ['enforce', 'warn', 'audit'] as const;

/** A Kubernetes-style `metadata`, as every kube-image-bouncer.io document carries it. */
export const OBJECT_METADATA_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};
export type Enforcement = (typeof ENFORCEMENTS)[number];

const globList = (description: string): JsonSchema => ({
  type: 'array',
  description,
  items: { type: 'string', minLength: 1 },
});

const imagePatternList = (description: string): JsonSchema => ({
  type: 'array',
  description,
  items: { type: 'string', minLength: 1 },
});

/** How to reach registries, shared by digest pinning and every registry-aware rule. */
const registrySchemas: Record<string, JsonSchema> = {
  registries: {
    type: 'array',
    description:
      'How to reach registries. An unlisted registry is reached over HTTPS with the system CAs and no credentials, and only at a public address.',
    items: {
      type: 'object',
      required: ['host'],
      additionalProperties: false,
      properties: {
        host: {
          type: 'string',
          minLength: 1,
          pattern: '^[A-Za-z0-9*.\\[\\]:-]+$',
          description:
            'host[:port], exact, or a glob such as `*.example.com` (`*` stays within one DNS label).',
        },
        caFile: {
          type: 'string',
          minLength: 1,
          description: "Extra CA certificates (PEM) for this registry's TLS.",
        },
        credentialsFile: {
          type: 'string',
          minLength: 1,
          description: 'A Docker config.json ("auths"), as a kubernetes.io/dockerconfigjson Secret holds.',
        },
        insecure: {
          type: 'boolean',
          default: false,
          description: 'Plain HTTP. Allowed only when set for that host.',
        },
      },
    },
  },
  registryTimeoutSeconds: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 30,
    default: 3,
    description:
      "The whole review's budget for registry work, in seconds; keep it below the webhook's timeoutSeconds.",
  },
  pinDigests: {
    description:
      'Pin images to the digest their tag resolves to, through /mutate: `repo:tag` becomes `repo:tag@sha256:…`.',
    oneOf: [
      { type: 'boolean' },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          namespaces: globList(
            'Namespaces (`*` wildcard) whose pods are pinned; every namespace when absent.',
          ),
          exemptImages: imagePatternList('Image patterns that are never pinned.'),
          podControllers: {
            type: 'boolean',
            default: false,
            description:
              "Also pin the pod templates of Deployments, CronJobs and the other controllers; off because rewriting a controller's spec fights GitOps tools.",
          },
        },
      },
    ],
  },
  registryCache: {
    type: 'object',
    additionalProperties: false,
    description: 'How long registry answers are reused.',
    properties: {
      tagTtlSeconds: {
        type: 'integer',
        minimum: 0,
        maximum: 3600,
        default: 30,
        description: 'How long a tag is taken to point at the digest it resolved to; 0 resolves every time.',
      },
      verificationTtlSeconds: {
        type: 'integer',
        minimum: 0,
        maximum: 86400,
        default: 600,
        description:
          'How long a verified signature or attestation of a digest is reused, for the same trust material and policy revision.',
      },
      verificationFailureTtlSeconds: {
        type: 'integer',
        minimum: 0,
        maximum: 300,
        default: 5,
        description:
          'How long a definite verification failure (no signature, untrusted signer) is reused; registry failures never are.',
      },
    },
  },
  exceptions: {
    type: 'array',
    description:
      'Time-boxed exemptions from every rule, which only whoever controls this file can write. Each lapses at its expiry, and each use is logged.',
    items: {
      type: 'object',
      required: ['images', 'expires', 'ticket'],
      additionalProperties: false,
      properties: {
        images: { ...imagePatternList('Image patterns the exception covers.'), minItems: 1 },
        namespaces: globList('Namespaces (`*` wildcard) it covers; every namespace when absent.'),
        expires: { type: 'string', minLength: 1, description: 'RFC 3339 time at which it lapses.' },
        ticket: {
          type: 'string',
          minLength: 1,
          description: 'The change or incident ticket that justifies it, named in the audit log.',
        },
      },
    },
  },
};

/**
 * The JSON Schema of a policy file, built from the registered rules so that a new rule's key is in
 * it without a second edit. `schema/image-policy.schema.json` is this, written out for editors.
 */
export function buildImagePolicySchema(rules: readonly ImageRule[]): JsonSchema {
  const checkKeys = rules.map((rule) => rule.key);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://kube-image-bouncer.io/schemas/image-policy.v1alpha1.json',
    title: 'kube-image-bouncer ImagePolicy',
    type: 'object',
    required: ['apiVersion', 'kind', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: IMAGE_POLICY_API_VERSION },
      kind: { const: IMAGE_POLICY_KIND },
      metadata: OBJECT_METADATA_SCHEMA,
      spec: {
        type: 'object',
        required: ['rules'],
        additionalProperties: false,
        properties: {
          exemptNamespaces: globList(
            'Namespaces (`*` wildcard) whose reviews are allowed without a check, and logged.',
          ),
          exemptImages: globList('Image patterns no rule applies to, e.g. `registry.k8s.io/**`.'),
          breakGlass: {
            type: 'boolean',
            default: false,
            description:
              'Honour `break-glass.image-policy.k8s.io/<ticket>: "<RFC 3339 expiry>"` pod annotations, which allow a denied pod until the expiry.',
          },
          breakGlassMaxHours: {
            type: 'integer',
            minimum: 1,
            maximum: 720,
            default: DEFAULT_BREAK_GLASS_MAX_HOURS,
            description:
              'How far ahead a break-glass expiry may lie, in hours; a ticket expiring later is refused.',
          },
          allowPermissive: {
            type: 'boolean',
            default: false,
            description:
              'A policy that can never deny an image (no enforced rule, or every namespace or image exempt) is refused unless this says it is meant.',
          },
          ...registrySchemas,
          rules: {
            type: 'array',
            items: {
              type: 'object',
              description: `A rule has exactly one check key: ${checkKeys.join(', ')}.`,
              additionalProperties: false,
              properties: {
                name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' },
                enforcement: {
                  enum: [...ENFORCEMENTS],
                  default: 'enforce',
                  description:
                    'enforce denies; warn allows with a warning; audit allows and only logs and counts.',
                },
                namespaces: globList(
                  'Namespaces (`*` wildcard) where the rule applies; everywhere when absent.',
                ),
                exemptImages: globList('Image patterns this rule does not apply to.'),
                ...Object.fromEntries(rules.map((rule) => [rule.key, rule.valueSchema])),
              },
              oneOf: checkKeys.map((key) => ({ required: [key] })),
            },
          },
        },
      },
    },
  };
}
