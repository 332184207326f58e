import { DEFAULT_BREAK_GLASS_MAX_HOURS } from '../break-glass';
import type { ImageRule, JsonSchema } from '../rules/image-rule';

export type JsonSchemaOf = JsonSchema;

export const IMAGE_POLICY_API_VERSION = 'kube-image-bouncer.io/v1alpha1';
export const IMAGE_POLICY_KIND = 'ImagePolicy';
export const ENFORCEMENTS = ['enforce', 'warn', 'audit'] as const;
export type Enforcement = (typeof ENFORCEMENTS)[number];

const globList = (description: string): JsonSchema => ({
  type: 'array',
  description,
  items: { type: 'string', minLength: 1 },
});

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
      metadata: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
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
            default: true,
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
