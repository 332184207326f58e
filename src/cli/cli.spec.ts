import { buildCli, namedCommandLine } from './cli';

describe(namedCommandLine.name, () => {
  const program = buildCli();

  it.each([
    [[], ['serve']],
    [
      ['--cert', 'a', '--key', 'b'],
      ['serve', '--cert', 'a', '--key', 'b'],
    ],
    [
      ['-p', '8443'],
      ['serve', '-p', '8443'],
    ],
    [
      ['check', '-f', 'x'],
      ['check', '-f', 'x'],
    ],
    [
      ['version', '-o', 'json'],
      ['version', '-o', 'json'],
    ],
    [
      ['help', 'check'],
      ['help', 'check'],
    ],
    [['--help'], ['--help']],
    [['-v'], ['-v']],
  ])('reads %j as %j', (args, expected) => {
    expect(namedCommandLine(args, program)).toEqual(expected);
  });

  it.each([
    ['servee', 'unknown command "servee" (did you mean "serve"?)'],
    ['chek', 'unknown command "chek" (did you mean "check"?)'],
    ['verison', 'unknown command "verison" (did you mean "version"?)'],
    [
      'deploy',
      'unknown command "deploy" (commands: serve, check, doctor, explain, review, setup, test, version, completion, help)',
    ],
  ])('refuses the unknown word %s', (word, message) => {
    expect(() => namedCommandLine([word, '-f', 'x'], program)).toThrow(message);
  });

  it('refuses help for an unknown word as it refuses the word alone', () => {
    expect(() => namedCommandLine(['help', 'nosuch'], program)).toThrow(
      'unknown command "nosuch" (commands: serve, check, doctor, explain, review, setup, test, version, completion, help)',
    );
    expect(() => namedCommandLine(['help', 'chek'], program)).toThrow(
      'unknown command "chek" (did you mean "check"?)',
    );
  });
});
