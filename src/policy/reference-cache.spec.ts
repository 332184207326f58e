import { InvalidImageReferenceError, parseNormalizedReference } from '../image-reference';
import { ReferenceCache } from './reference-cache';

describe(ReferenceCache.name, () => {
  it('gives what parsing gives, for valid and invalid images alike', () => {
    const sut = new ReferenceCache();
    for (const image of ['nginx', 'localhost:5000/app:1', 'Nginx:1', '', 'a@sha256:abc']) {
      for (let round = 0; round < 2; round++) {
        let expected: unknown;
        try {
          expected = parseNormalizedReference(image);
        } catch (error) {
          expected = error;
        }
        let actual: unknown;
        try {
          actual = sut.parse(image);
        } catch (error) {
          actual = error;
        }
        expect(actual).toEqual(expected);
        if (expected instanceof InvalidImageReferenceError)
          expect(actual).toBeInstanceOf(InvalidImageReferenceError);
      }
    }
  });

  it('evicts the least recently used image beyond its bound', () => {
    const sut = new ReferenceCache(2);
    sut.parse('a:1');
    sut.parse('b:1');
    sut.parse('a:1'); // a is now the most recent
    sut.parse('c:1'); // evicts b
    expect(sut.size).toBe(2);
    const spy = jest.spyOn(Map.prototype, 'set');
    sut.parse('a:1');
    expect(spy).toHaveBeenCalledTimes(1); // moved to the young end, not parsed again
    spy.mockRestore();
  });

  it('does not keep very long strings', () => {
    const sut = new ReferenceCache();
    // A valid reference (registry names have no length limit) and an invalid one, both long.
    expect(sut.parse(`${'a'.repeat(600)}.io/app:1`).path).toBe('app');
    expect(() => sut.parse(`${'a'.repeat(600)}:1`)).toThrow(InvalidImageReferenceError);
    expect(sut.size).toBe(0);
  });
});
