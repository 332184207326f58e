import { DockerConfigError, credentialFor, parseDockerConfig } from './docker-config';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const config = (auths: unknown): string => JSON.stringify({ auths });

describe(parseDockerConfig.name, () => {
  it('reads a credential from base64 of user:password', () => {
    const sut = parseDockerConfig(
      config({ 'registry.example.com': { auth: b64('ci:s3cret') } }),
      'config.json',
    );

    expect(sut.get('registry.example.com')).toEqual({ username: 'ci', password: 's3cret' });
  });

  it('keeps every colon after the first in the password', () => {
    const sut = parseDockerConfig(config({ r: { auth: b64('ci:a:b:c') } }), 'config.json');

    expect(sut.get('r')).toEqual({ username: 'ci', password: 'a:b:c' });
  });

  it('reads the username and password fields when there is no auth', () => {
    const sut = parseDockerConfig(
      config({ '127.0.0.1:5000': { username: 'ci', password: 'pw' } }),
      'config.json',
    );

    expect(sut.get('127.0.0.1:5000')).toEqual({ username: 'ci', password: 'pw' });
  });

  it('prefers auth to the username and password fields', () => {
    const sut = parseDockerConfig(
      config({ r: { auth: b64('from:auth'), username: 'from', password: 'fields' } }),
      'config.json',
    );

    expect(sut.get('r')).toEqual({ username: 'from', password: 'auth' });
  });

  it('keys a URL by its host[:port], in lower case', () => {
    const sut = parseDockerConfig(
      config({ 'https://Registry.Example.com:5000/v2/': { auth: b64('u:p') } }),
      'config.json',
    );

    expect([...sut.keys()]).toEqual(['registry.example.com:5000']);
  });

  it.each(['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'])(
    'files %s under docker.io',
    (key) => {
      const sut = parseDockerConfig(config({ [key]: { auth: b64('hub:pw') } }), 'config.json');

      expect([...sut.keys()]).toEqual(['docker.io']);
      expect(credentialFor(sut, 'docker.io')).toEqual({ username: 'hub', password: 'pw' });
    },
  );

  it('skips an entry with neither auth nor both fields, such as one a credential helper serves', () => {
    const sut = parseDockerConfig(
      config({ a: {}, b: null, c: { auth: '' }, d: { username: 'only' }, e: { auth: b64('u:p') } }),
      'config.json',
    );

    expect([...sut.keys()]).toEqual(['e']);
  });

  it('gives no credentials for an empty auths object', () => {
    expect(parseDockerConfig('{"auths": {}}', 'config.json').size).toBe(0);
  });

  it('refuses text that is not JSON, naming its source', () => {
    expect(() => parseDockerConfig('{auths:', '/etc/bouncer/config.json')).toThrow(DockerConfigError);
    expect(() => parseDockerConfig('{auths:', '/etc/bouncer/config.json')).toThrow(
      /^\/etc\/bouncer\/config\.json is not JSON: /,
    );
  });

  it.each([
    '{}',
    'null',
    '[]',
    '{"auths": []}',
    '{"auths": "x"}',
    '{"auths": null}',
    '{"credsStore": "desktop"}',
  ])('refuses %s, which has no auths object', (text) => {
    expect(() => parseDockerConfig(text, 'config.json')).toThrow(
      new DockerConfigError('config.json has no "auths" object'),
    );
  });

  it('refuses an auth that is not base64 of user:password, without repeating it', () => {
    const secret = b64('no-colon-here');
    let error: unknown;
    try {
      parseDockerConfig(config({ 'registry.example.com': { auth: secret } }), 'config.json');
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(DockerConfigError);
    expect((error as Error).message).toBe(
      'config.json: auths["registry.example.com"].auth is not base64 of user:password',
    );
    expect((error as Error).message).not.toContain(secret);
    expect((error as Error).name).toBe('DockerConfigError');
  });
});

describe(credentialFor.name, () => {
  const credentials = parseDockerConfig(
    config({
      'Registry.Example.com': { auth: b64('u:p') },
      'https://index.docker.io/v1/': { auth: b64('hub:pw') },
    }),
    'config.json',
  );

  it("finds the credential for a reference's domain, whatever its case", () => {
    expect(credentialFor(credentials, 'registry.EXAMPLE.com')).toEqual({ username: 'u', password: 'p' });
  });

  it('finds Docker Hub credentials filed under its legacy index URL', () => {
    expect(credentialFor(credentials, 'docker.io')).toEqual({ username: 'hub', password: 'pw' });
  });

  it('gives nothing for another port of a listed host', () => {
    expect(credentialFor(credentials, 'registry.example.com:5000')).toBeUndefined();
  });
});
