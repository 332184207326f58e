import { Provider, Type } from '@nestjs/common';
import { IMAGE_RULES, ImageRule } from './image-rule';
import { LatestTagRule } from './latest-tag.rule';

/** Every rule the policy service runs, in order. Adding a rule is one class and one line here. */
export const IMAGE_RULE_TYPES: readonly Type<ImageRule>[] = [LatestTagRule];

export const imageRulesProvider: Provider = {
  provide: IMAGE_RULES,
  inject: [...IMAGE_RULE_TYPES],
  useFactory: (...rules: ImageRule[]): readonly ImageRule[] => rules,
};

export * from './image-rule';
