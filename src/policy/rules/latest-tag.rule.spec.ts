import { parseNormalizedReference } from '../../image-reference';
import { LatestTagRule } from './latest-tag.rule';

const DIGEST = `sha256:${'0'.repeat(64)}`;

describe(LatestTagRule.name, () => {
  const sut = new LatestTagRule();
  const check = (image: string) => sut.check({ image, reference: parseNormalizedReference(image) });

  it.each([
    'nginx',
    'nginx:latest',
    'docker.io/library/nginx',
    'localhost:5000/app',
    'registry:5000/app',
    '[::1]:5000/app',
    `nginx:latest@${DIGEST}`,
  ])('denies %s as latest', (image) => {
    expect(check(image)).toBe('uses the latest tag');
  });

  it.each([
    'nginx:1.13.8',
    'registry:5000/app:v2',
    `nginx@${DIGEST}`,
    `localhost:5000/app@${DIGEST}`,
    'nginx:latest-alpine',
    'nginx:Latest',
  ])('allows %s', (image) => {
    expect(check(image)).toBeUndefined();
  });

  it('keeps the original bouncer phrase for its denial summary', () => {
    expect(sut.denialSummary).toBe('Images using latest tag are not allowed');
  });
});
