import { acceptGoStyleFlags } from './go-style-flags';

describe(acceptGoStyleFlags.name, () => {
  const known = new Set(['--cert', '--key', '--port', '--client-ca']);

  it("rewrites the original bouncer's single-dash long flags", () => {
    expect(acceptGoStyleFlags(['-cert', 'a.crt', '-key', 'a.key'], known)).toEqual([
      '--cert',
      'a.crt',
      '--key',
      'a.key',
    ]);
  });

  it('keeps an attached value', () => {
    expect(acceptGoStyleFlags(['-port=8443', '-client-ca=ca.crt'], known)).toEqual([
      '--port=8443',
      '--client-ca=ca.crt',
    ]);
  });

  it('leaves short flags, double-dash flags, values and unknown words alone', () => {
    const args = ['-p', '8443', '--cert', 'x', '-colour', 'serve', '-c'];
    expect(acceptGoStyleFlags(args, known)).toEqual(args);
  });

  it('stops rewriting at --', () => {
    expect(acceptGoStyleFlags(['-cert', 'x', '--', '-key'], known)).toEqual(['--cert', 'x', '--', '-key']);
  });
});
