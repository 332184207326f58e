import type { LookupAddress } from 'node:dns';
import { isPrivateAddress, judgeRealm, publicAddressLookup } from './realm-guard';

describe(isPrivateAddress.name, () => {
  it.each([
    ['10.0.0.1', '10/8'],
    ['10.255.255.255', '10/8'],
    ['172.16.0.1', '172.16/12'],
    ['172.31.255.255', '172.16/12'],
    ['192.168.1.1', '192.168/16'],
    ['127.0.0.1', '127/8'],
    ['127.255.0.9', '127/8'],
    ['169.254.169.254', '169.254/16 (cloud metadata)'],
    ['100.64.0.1', '100.64/10 (carrier-grade NAT)'],
    ['100.127.255.255', '100.64/10 (carrier-grade NAT)'],
    ['0.0.0.0', '0/8'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'fc00::/7'],
    ['fd12:3456::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['febf::1', 'fe80::/10'],
    ['::ffff:10.0.0.1', 'IPv4-mapped 10/8'],
    ['::FFFF:127.0.0.1', 'IPv4-mapped 127/8'],
    ['::ffff:a00:1', 'IPv4-mapped 10/8, in the hex form URL parsing gives'],
  ])('takes %s as private (%s)', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '100.63.255.255',
    '100.128.0.0',
    '169.255.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('takes %s as public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('takes a name, which is not an address, as not private: the lookup judges what it resolves to', () => {
    expect(isPrivateAddress('localhost')).toBe(false);
  });
});

describe(judgeRealm.name, () => {
  const secure = { host: 'registry.example.com', insecure: false };
  const nothingListed = (): boolean => false;

  it('refuses an http realm for a registry reached over https', () => {
    expect(judgeRealm('http://auth.example.com/token', secure, nothingListed)).toEqual({
      allowed: false,
      why: 'token realm http://auth.example.com is not https',
    });
  });

  it('allows an http realm for a registry the policy marks insecure', () => {
    const verdict = judgeRealm(
      'http://127.0.0.1:5000/token',
      { host: '127.0.0.1:5000', insecure: true },
      nothingListed,
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
  });

  it.each(['ftp://auth.example.com/token', 'file:///etc/passwd'])('refuses the scheme of %s', (realm) => {
    expect(judgeRealm(realm, { ...secure, insecure: true }, nothingListed).allowed).toBe(false);
  });

  it('refuses a realm that is not a URL', () => {
    expect(judgeRealm('not a url', secure, nothingListed)).toEqual({
      allowed: false,
      why: 'token realm "not a url" is not a URL',
    });
  });

  it('refuses a realm that is empty, as a challenge without one gives', () => {
    expect(judgeRealm('', secure, nothingListed).allowed).toBe(false);
  });

  it.each(['https://user:pass@auth.example.com/token', 'https://user@auth.example.com/token'])(
    'refuses a realm carrying credentials, without repeating them (%s)',
    (realm) => {
      const verdict = judgeRealm(realm, secure, nothingListed);

      expect(verdict).toEqual({ allowed: false, why: 'token realm carries credentials' });
    },
  );

  it("allows the registry's own host, wherever it is, without restricting its addresses", () => {
    const verdict = judgeRealm('https://Registry.Example.com/token?x=1', secure, nothingListed);

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
    expect(verdict.allowed && verdict.url.href).toBe('https://registry.example.com/token?x=1');
  });

  it("allows the registry's own private address and port", () => {
    const verdict = judgeRealm(
      'https://10.0.0.5:5000/token',
      { host: '10.0.0.5:5000', insecure: false },
      nothingListed,
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
  });

  it('takes another port of the same address as another host', () => {
    const verdict = judgeRealm(
      'https://10.0.0.5:6001/token',
      { host: '10.0.0.5:5000', insecure: false },
      nothingListed,
    );

    expect(verdict.allowed).toBe(false);
  });

  it('allows a private host the policy lists, asking with host[:port]', () => {
    const listed = jest.fn((host: string) => host === '10.0.0.7:8443');

    const verdict = judgeRealm('https://10.0.0.7:8443/token', secure, listed);

    expect(verdict).toMatchObject({ allowed: true, publicOnly: false });
    expect(listed).toHaveBeenCalledWith('10.0.0.7:8443');
  });

  it.each([
    ['https://10.0.0.1/token', '10.0.0.1'],
    ['https://127.0.0.1:8080/token', '127.0.0.1:8080'],
    ['https://169.254.169.254/latest', '169.254.169.254'],
    ['https://[::1]/token', '[::1]'],
    ['https://[fd00::1]:443/token', '[fd00::1]'],
    ['https://[::ffff:10.0.0.1]/token', '[::ffff:a00:1]'],
    ['https://0x7f000001/token', '127.0.0.1'],
    ['https://2130706433/token', '127.0.0.1'],
  ])('refuses the private address literal of %s', (realm, host) => {
    expect(judgeRealm(realm, secure, nothingListed)).toEqual({
      allowed: false,
      why: `token realm ${host} is a private address the policy does not list`,
    });
  });

  it('allows a public address literal, connecting to public addresses only', () => {
    expect(judgeRealm('https://8.8.8.8/token', secure, nothingListed)).toMatchObject({
      allowed: true,
      publicOnly: true,
    });
  });

  it("allows another host's public name, leaving what it resolves to for the connection's lookup", () => {
    const verdict = judgeRealm(
      'https://auth.docker.io/token',
      { host: 'docker.io', insecure: false },
      nothingListed,
    );

    expect(verdict).toMatchObject({ allowed: true, publicOnly: true });
    expect(verdict.allowed && verdict.url.hostname).toBe('auth.docker.io');
  });

  it('allows a name that may resolve anywhere only under the public-only lookup', () => {
    expect(judgeRealm('https://localhost/token', secure, nothingListed)).toMatchObject({
      allowed: true,
      publicOnly: true,
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

      expect(error).toMatchObject({
        code: 'EREALM',
        message: 'token realm localhost resolves to a private address',
      });
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
