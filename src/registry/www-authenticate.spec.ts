import { parseWwwAuthenticate } from './www-authenticate';

describe(parseWwwAuthenticate.name, () => {
  it("reads a Bearer challenge's realm, service and scope", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      },
    ]);
  });

  it('keeps commas inside a quoted value', () => {
    const [challenge] = parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",scope="repository:app:pull,push",service="r"',
    );

    expect(challenge.params).toEqual({
      realm: 'https://auth.example.com/token',
      scope: 'repository:app:pull,push',
      service: 'r',
    });
  });

  it('unescapes quotes and backslashes inside a quoted value', () => {
    const [challenge] = parseWwwAuthenticate(
      'Bearer realm="https://a.example/t",error="say \\"hi\\" \\\\ bye"',
    );

    expect(challenge.params.error).toBe('say "hi" \\ bye');
  });

  it('reads a Basic challenge', () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  it('reads a scheme with no parameters', () => {
    expect(parseWwwAuthenticate('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  });

  it('reads several challenges in one header', () => {
    expect(
      parseWwwAuthenticate(
        'Basic realm="simple", Bearer realm="https://auth.example.com/token", service="registry.example.com"',
      ),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'simple' } },
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example.com/token', service: 'registry.example.com' },
      },
    ]);
  });

  it("reads RFC 7235's example of two challenges, one of them with an escaped quote", () => {
    // https://www.rfc-editor.org/rfc/rfc7235#section-4.1
    expect(
      parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'),
    ).toEqual([
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ]);
  });

  it.each(['Bearer', 'BEARER', 'bEaReR'])('compares the scheme %s case-insensitively', (scheme) => {
    expect(parseWwwAuthenticate(`${scheme} realm="https://a.example/t"`)[0].scheme).toBe('bearer');
  });

  it('lower-cases parameter names', () => {
    expect(parseWwwAuthenticate('Bearer Realm="https://a.example/t",SERVICE="s"')[0].params).toEqual({
      realm: 'https://a.example/t',
      service: 's',
    });
  });

  it('reads unquoted values and spaces around the separators', () => {
    expect(parseWwwAuthenticate('  Bearer  realm = https://a.example/t ,  service=s  ')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a.example/t', service: 's' } },
    ]);
  });

  it('gives nothing for an empty header', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});
