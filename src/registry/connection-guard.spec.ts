import type { LookupAddress } from 'node:dns';
import { HOP_REFUSED, judgeHop, publicAddressLookup } from './connection-guard';
import { RegistryAccess } from './registry-settings';

/** How an exchange reaches `registry`; `listed` says which hosts the policy lists. */
function accessTo(
  registry: string,
  { insecure = false, listed = [] as readonly string[], apiHost = registry } = {},
): RegistryAccess {
  return {
    registry,
    baseUrl: `${insecure ? 'http' : 'https'}://${apiHost}`,
    insecure,
    policyLists: (host) => listed.includes(host),
  };
}

describe(`${judgeHop.name} of a token realm`, () => {
  const secure = accessTo('registry.example.com');

  it('refuses an http realm for a registry reached over https', () => {
    expect(judgeHop('http://auth.example.com/token', 'realm', secure)).toEqual({
      allowed: false,
      reason: 'not https',
      why: 'token realm http://auth.example.com is not https',
    });
  });

  it('allows an http realm for a registry the policy marks insecure', () => {
    const verdict = judgeHop(
      'http://127.0.0.1:5000/token',
      'realm',
      accessTo('127.0.0.1:5000', { insecure: true, listed: ['127.0.0.1:5000'] }),
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
  });

  it.each(['ftp://auth.example.com/token', 'file:///etc/passwd'])('refuses the scheme of %s', (realm) => {
    expect(judgeHop(realm, 'realm', accessTo('registry.example.com', { insecure: true })).allowed).toBe(
      false,
    );
  });

  it('refuses a realm that is not a URL', () => {
    expect(judgeHop('not a url', 'realm', secure)).toEqual({
      allowed: false,
      reason: 'not a URL',
      why: 'token realm "not a url" is not a URL',
    });
  });

  it('refuses a realm that is empty, as a challenge without one gives', () => {
    expect(judgeHop('', 'realm', secure).allowed).toBe(false);
  });

  it.each(['https://user:pass@auth.example.com/token', 'https://user@auth.example.com/token'])(
    'refuses a realm carrying credentials, without repeating them (%s)',
    (realm) => {
      const verdict = judgeHop(realm, 'realm', secure);

      expect(verdict).toEqual({
        allowed: false,
        reason: 'credentials',
        why: 'token realm carries credentials',
      });
    },
  );

  // Before issue 23 the registry's own host was vouched for whether or not the policy listed the
  // registry. An unlisted registry is now reached at public addresses only, so its own host is too.
  it("allows a listed registry's own host, wherever it is, without restricting its addresses", () => {
    const verdict = judgeHop(
      'https://Registry.Example.com/token?x=1',
      'realm',
      accessTo('registry.example.com', { listed: ['registry.example.com'] }),
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
    expect(verdict.allowed && verdict.url.href).toBe('https://registry.example.com/token?x=1');
  });

  it("allows an unlisted registry's own host at public addresses only", () => {
    expect(judgeHop('https://registry.example.com/token', 'realm', secure)).toMatchObject({
      allowed: true,
      publicOnly: true,
    });
  });

  it("allows a listed registry's own private address and port", () => {
    const verdict = judgeHop(
      'https://10.0.0.5:5000/token',
      'realm',
      accessTo('10.0.0.5:5000', { listed: ['10.0.0.5:5000'] }),
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
  });

  it("refuses an unlisted registry's own private address", () => {
    expect(judgeHop('https://10.0.0.5:5000/token', 'realm', accessTo('10.0.0.5:5000'))).toEqual({
      allowed: false,
      reason: 'address',
      why: 'token realm 10.0.0.5:5000 is a private address the policy does not list',
    });
  });

  it('takes another port of the same address as another host', () => {
    const verdict = judgeHop(
      'https://10.0.0.5:6001/token',
      'realm',
      accessTo('10.0.0.5:5000', { listed: ['10.0.0.5:5000'] }),
    );

    expect(verdict.allowed).toBe(false);
  });

  it('allows a private host the policy lists, asking with host[:port]', () => {
    const listed = jest.fn((host: string) => host === '10.0.0.7:8443');

    const verdict = judgeHop('https://10.0.0.7:8443/token', 'realm', { ...secure, policyLists: listed });

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
    expect(listed).toHaveBeenCalledWith('10.0.0.7:8443');
  });

  it('takes host and host:443 as one https host the policy lists', () => {
    const verdict = judgeHop(
      'https://10.0.0.7/token',
      'realm',
      accessTo('x.io', { listed: ['10.0.0.7:443'] }),
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
  });

  it.each([
    ['https://10.0.0.1/token', '10.0.0.1'],
    ['https://127.0.0.1:8080/token', '127.0.0.1:8080'],
    ['https://169.254.169.254/latest', '169.254.169.254'],
    ['https://[::1]/token', '[::1]'],
    ['https://[fd00::1]:443/token', '[fd00::1]'],
    ['https://[::ffff:10.0.0.1]/token', '[::ffff:a00:1]'],
    ['https://[64:ff9b::7f00:1]/token', '[64:ff9b::7f00:1]'],
    ['https://0x7f000001/token', '127.0.0.1'],
    ['https://2130706433/token', '127.0.0.1'],
  ])('refuses the private address literal of %s', (realm, host) => {
    expect(judgeHop(realm, 'realm', secure)).toEqual({
      allowed: false,
      reason: 'address',
      why: `token realm ${host} is a private address the policy does not list`,
    });
  });

  it.each([
    ['https://[::7f00:1]/token', 'an IPv4-compatible'],
    ['https://[2002:808:808::1]/token', 'a 6to4'],
    ['https://[2001::1]/token', 'a Teredo'],
    ['https://[64:ff9b:1::808:808]/token', 'a local-use NAT64'],
  ])('refuses the IPv6 form of %s whatever address it carries', (realm, kind) => {
    const verdict = judgeHop(realm, 'realm', secure);

    expect(verdict).toMatchObject({ allowed: false, reason: 'address' });
    expect(!verdict.allowed && verdict.why).toMatch(
      new RegExp(`is ${kind} address the policy does not list$`),
    );
  });

  it.each(['https://8.8.8.8/token', 'https://[64:ff9b::808:808]/token', 'https://[2606:4700::1111]/token'])(
    'allows the public address literal of %s, connecting to public addresses only',
    (realm) => {
      expect(judgeHop(realm, 'realm', secure)).toMatchObject({ allowed: true, publicOnly: true });
    },
  );

  it("allows another host's public name, leaving what it resolves to for the connection's lookup", () => {
    const verdict = judgeHop('https://auth.docker.io/token', 'realm', accessTo('docker.io'));

    expect(verdict).toMatchObject({ allowed: true, publicOnly: true });
    expect(verdict.allowed && verdict.url.hostname).toBe('auth.docker.io');
  });

  it('allows a name that may resolve anywhere only under the public-only lookup', () => {
    expect(judgeHop('https://localhost/token', 'realm', secure)).toMatchObject({
      allowed: true,
      publicOnly: true,
    });
  });
});

describe(`${judgeHop.name} of the registry`, () => {
  it('refuses an unlisted registry at a private address, without connecting', () => {
    expect(
      judgeHop('https://10.1.2.3:5000/v2/app/manifests/v1', 'registry', accessTo('10.1.2.3:5000')),
    ).toEqual({
      allowed: false,
      reason: 'address',
      why: 'registry 10.1.2.3:5000 is a private address the policy does not list',
    });
  });

  it('reaches a registry the policy lists wherever it is', () => {
    const access = accessTo('10.1.2.3:5000', { insecure: true, listed: ['10.1.2.3:5000'] });

    expect(judgeHop('http://10.1.2.3:5000/v2/', 'registry', access)).toMatchObject({
      allowed: true,
      publicOnly: false,
    });
  });

  it('reaches Docker Hub, listed as docker.io, at its API host', () => {
    const access = accessTo('docker.io', { listed: ['docker.io'], apiHost: 'registry-1.docker.io' });

    expect(judgeHop('https://registry-1.docker.io/v2/', 'registry', access)).toMatchObject({
      allowed: true,
      publicOnly: false,
    });
  });

  it('reaches an unlisted registry by name at public addresses only', () => {
    expect(judgeHop('https://ghcr.io/v2/', 'registry', accessTo('ghcr.io'))).toMatchObject({
      allowed: true,
      publicOnly: true,
    });
  });
});

describe(`${judgeHop.name} of a redirect`, () => {
  const listedRegistry = accessTo('registry.example.com', { listed: ['registry.example.com'] });
  const from = new URL('https://registry.example.com/v2/app/blobs/sha256:0');

  it('follows a redirect to blob storage on another public host, at public addresses only', () => {
    expect(
      judgeHop('https://production.cloudflare.docker.com/registry-v2/x', 'redirect', listedRegistry, from),
    ).toMatchObject({ allowed: true, publicOnly: true });
  });

  it('follows a redirect to a host the policy lists wherever it is', () => {
    const access = accessTo('registry.example.com', {
      listed: ['registry.example.com', 'minio.internal:9000'],
    });

    expect(judgeHop('https://minio.internal:9000/blobs/x', 'redirect', access, from)).toMatchObject({
      allowed: true,
      publicOnly: false,
    });
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['https://10.0.0.1:8080/x', '10.0.0.1:8080'],
    ['https://[::ffff:127.0.0.1]:8080/x', '[::ffff:7f00:1]:8080'],
  ])('refuses a redirect to the private address of %s', (location, host) => {
    expect(judgeHop(location, 'redirect', listedRegistry, from)).toEqual({
      allowed: false,
      reason: 'address',
      why: `redirect to ${host} is a private address the policy does not list`,
    });
  });

  it('refuses a redirect from https down to http, even for a registry marked insecure', () => {
    const insecure = accessTo('registry.example.com', { insecure: true, listed: ['registry.example.com'] });

    expect(judgeHop('http://cdn.example.com/x', 'redirect', insecure, from)).toEqual({
      allowed: false,
      reason: 'https to http',
      why: 'redirect to http://cdn.example.com would go from https down to http',
    });
  });

  it('refuses a redirect to http for a registry reached over https', () => {
    expect(judgeHop('http://cdn.example.com/x', 'redirect', listedRegistry)).toMatchObject({
      allowed: false,
      reason: 'not https',
    });
  });

  it('refuses a redirect carrying credentials', () => {
    expect(judgeHop('https://u:p@cdn.example.com/x', 'redirect', listedRegistry, from)).toEqual({
      allowed: false,
      reason: 'credentials',
      why: 'redirect to a URL carrying credentials',
    });
  });
});

describe('publicAddressLookup', () => {
  type Answer = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
  const lookup = (hostname: string, options: { all?: boolean; family?: number }): Promise<Answer> =>
    new Promise((resolve) =>
      publicAddressLookup(hostname, options, (error, address, family) => resolve({ error, address, family })),
    );

  it.each([{}, { all: true }])(
    "refuses 'localhost', which resolves to loopback (options %j)",
    async (options) => {
      const { error } = await lookup('localhost', options);

      expect(error).toMatchObject({ code: HOP_REFUSED, message: 'localhost resolves to a private address' });
    },
  );

  it('passes a public address through, as one address', async () => {
    await expect(lookup('8.8.8.8', {})).resolves.toEqual({ error: null, address: '8.8.8.8', family: 4 });
  });

  it('passes a public address through, as a list when all are asked for', async () => {
    await expect(lookup('8.8.8.8', { all: true })).resolves.toEqual({
      error: null,
      address: [{ address: '8.8.8.8', family: 4 }],
      family: undefined,
    });
  });
});
