import { Provider, Type } from '@nestjs/common';
import { AllowedRepositoriesRule } from './allowed-repositories.rule';
import { DeniedRepositoriesRule } from './denied-repositories.rule';
import { DisallowedTagsRule } from './disallowed-tags.rule';
import { IMAGE_RULES, ImageRule } from './image-rule';
import { RequireDigestRule } from './require-digest.rule';
import { VerifyAttestationsRule } from './verify-attestations.rule';
import { VerifySignaturesRule } from './verify-signatures.rule';

/**
 * Every rule kind a policy may use, by its key. Adding a rule is one class and one line here; its
 * key and value schema reach the policy schema (run `npm run schema` to refresh the shipped copy).
 */
export const IMAGE_RULE_TYPES: readonly Type<ImageRule>[] = [
  DisallowedTagsRule,
  AllowedRepositoriesRule,
  DeniedRepositoriesRule,
  RequireDigestRule,
  VerifySignaturesRule,
  VerifyAttestationsRule,
];

export const imageRulesProvider: Provider = {
  provide: IMAGE_RULES,
  inject: [...IMAGE_RULE_TYPES],
  useFactory: (...rules: ImageRule[]): readonly ImageRule[] => rules,
};

export * from './image-rule';
