import { Test } from '@nestjs/testing';
import { ImagePolicyService, INVALID_REFERENCE_RULE, RULE_FAILURE_RULE } from './image-policy.service';
import { IMAGE_RULES, ImageRule, imageRulesProvider, IMAGE_RULE_TYPES } from './rules';

describe(ImagePolicyService.name, () => {
  let sut: ImagePolicyService;

  beforeEach(async () => {
    const module = await Test.createTestingModule({
      providers: [...IMAGE_RULE_TYPES, imageRulesProvider, ImagePolicyService],
    }).compile();
    sut = module.get(ImagePolicyService);
  });

  it('runs the rules registered under IMAGE_RULES', () => {
    expect(sut.ruleNames).toEqual(['no-latest']);
  });

  it('allows when every image passes every rule', () => {
    const decision = sut.evaluate({ images: [{ image: 'nginx:1.13.8' }, { image: 'redis:7' }] });
    expect(decision.allowed).toBe(true);
    expect(decision.verdicts.map((v) => v.violations)).toEqual([[], []]);
  });

  it('denies when any image violates a rule, and says which image and why', () => {
    const decision = sut.evaluate({ images: [{ image: 'nginx:1.13.8' }, { image: 'nginx' }] });
    expect(decision.allowed).toBe(false);
    expect(decision.verdicts[1]).toMatchObject({
      subject: { image: 'nginx' },
      reference: { domain: 'docker.io', path: 'library/nginx' },
      violations: [{ rule: 'no-latest', problem: 'uses the latest tag' }],
    });
  });

  it('denies an image that is not a valid reference, with the parser message as detail', () => {
    const decision = sut.evaluate({ images: [{ image: 'Nginx:1.0' }] });
    expect(decision.allowed).toBe(false);
    expect(decision.verdicts[0].violations).toEqual([
      {
        rule: INVALID_REFERENCE_RULE,
        summary: 'Images that are not valid references are not allowed',
        problem: expect.stringContaining('is not a valid image reference'),
        detail: 'invalid reference format: repository name (library/Nginx) must be lowercase',
      },
    ]);
  });

  it('allows an empty list of images', () => {
    expect(sut.evaluate({ images: [] }).allowed).toBe(true);
  });

  it('denies, rather than allows, when a rule throws', async () => {
    const broken: ImageRule = {
      name: 'broken',
      denialSummary: 'never shown',
      check: () => {
        throw new Error('bug');
      },
    };
    const module = await Test.createTestingModule({
      providers: [{ provide: IMAGE_RULES, useValue: [broken] }, ImagePolicyService],
    })
      .setLogger({ log: () => undefined, error: () => undefined, warn: () => undefined })
      .compile();
    const decision = module.get(ImagePolicyService).evaluate({ images: [{ image: 'nginx:1.0' }] });

    expect(decision.allowed).toBe(false);
    expect(decision.verdicts[0].violations).toEqual([
      expect.objectContaining({ rule: RULE_FAILURE_RULE, problem: 'could not be checked by rule broken' }),
    ]);
  });
});
