import { closestName } from './closest-name';

describe(closestName.name, () => {
  const commands = ['serve', 'check', 'explain', 'setup', 'version', 'completion'];

  it.each([
    ['SERVE', 'serve'],
    ['explian', 'explain'],
    ['compl', 'completion'],
    ['vers', 'version'],
    ['x', undefined],
    ['sevre', 'serve'],
  ])('%s → %s', (word, meant) => {
    expect(closestName(word, commands)).toBe(meant);
  });
});

describe(`${closestName.name} for policy keys`, () => {
  const keys = ['name', 'enforcement', 'namespaces', 'exemptImages', 'disallowedTags'];

  it.each([
    ['namespace', 'namespaces'],
    ['disalowedTags', 'disallowedTags'],
    ['ExemptImages', 'exemptImages'],
    ['enforcment', 'enforcement'],
    ['allowedRepositories', undefined],
  ])('%s → %s', (word, meant) => {
    expect(closestName(word, keys)).toBe(meant);
  });
});
