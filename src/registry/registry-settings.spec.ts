import { rootCertificates } from 'node:tls';
import { RegistryHostSettings, RegistrySettings } from './registry-settings';

const entry = (host: string, more: Partial<RegistryHostSettings> = {}): RegistryHostSettings => ({
  host,
  insecure: false,
  ...more,
});

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe(RegistrySettings.name, () => {
  describe('entryFor', () => {
    it('lets an exact host win over a glob listed before it', () => {
      const glob = entry('*.example.com');
      const exact = entry('registry.example.com');
      const sut = new RegistrySettings([glob, exact]);

      expect(sut.entryFor('registry.example.com')).toBe(exact);
      expect(sut.entryFor('other.example.com')).toBe(glob);
    });

    it('lets the first matching glob win', () => {
      const first = entry('*.example.com');
      const second = entry('registry.*.com');
      const sut = new RegistrySettings([first, second]);

      expect(sut.entryFor('registry.example.com')).toBe(first);
    });

    it('lets the first of two exact entries for one host win', () => {
      const first = entry('registry.example.com', { insecure: true });
      const sut = new RegistrySettings([first, entry('Registry.Example.com')]);

      expect(sut.entryFor('registry.example.com')).toBe(first);
    });

    it('matches hosts case-insensitively, exact and glob alike', () => {
      const exact = entry('Registry.Example.com');
      const glob = entry('*.Corp.Example');
      const sut = new RegistrySettings([exact, glob]);

      expect(sut.entryFor('REGISTRY.example.COM')).toBe(exact);
      expect(sut.entryFor('harbor.corp.example')).toBe(glob);
    });

    it('keeps * within one DNS label', () => {
      const sut = new RegistrySettings([entry('*.example.com')]);

      expect(sut.entryFor('a.example.com')).toBeDefined();
      expect(sut.entryFor('a.b.example.com')).toBeUndefined();
      expect(sut.entryFor('example.com')).toBeUndefined();
      expect(sut.entryFor('evil-example.com')).toBeUndefined();
    });

    it('keeps * out of the port: a glob without a port matches no host with one', () => {
      const sut = new RegistrySettings([entry('*.example.com'), entry('10.0.0.*:5000')]);

      expect(sut.entryFor('a.example.com:5000')).toBeUndefined();
      expect(sut.entryFor('10.0.0.7:5000')?.host).toBe('10.0.0.*:5000');
      expect(sut.entryFor('10.0.0.7')).toBeUndefined();
    });

    it('matches any port with a * after the colon', () => {
      const sut = new RegistrySettings([entry('registry.example.com:*')]);

      expect(sut.entryFor('registry.example.com:5000')).toBeDefined();
      expect(sut.entryFor('registry.example.com:5000:1')).toBeUndefined();
    });

    it('takes the other glob characters of a regular expression literally', () => {
      const sut = new RegistrySettings([entry('reg+istry.example.com'), entry('a.(b)*.io')]);

      expect(sut.entryFor('reg+istry.example.com')).toBeDefined();
      expect(sut.entryFor('reggistry.example.com')).toBeUndefined();
      expect(sut.entryFor('a.(b)x.io')).toBeDefined();
      expect(sut.entryFor('aX(b)x.io')).toBeUndefined();
    });

    it('gives nothing for an unlisted host', () => {
      expect(new RegistrySettings([entry('registry.example.com')]).entryFor('ghcr.io')).toBeUndefined();
    });
  });

  describe('accessFor', () => {
    it('reaches docker.io at registry-1.docker.io over https', () => {
      expect(new RegistrySettings([]).accessFor('docker.io')).toMatchObject({
        registry: 'docker.io',
        baseUrl: 'https://registry-1.docker.io',
        insecure: false,
      });
    });

    it('reaches an unlisted registry over https with the system CAs and no credentials', () => {
      const access = new RegistrySettings([]).accessFor('ghcr.io');

      expect(access).toMatchObject({ registry: 'ghcr.io', baseUrl: 'https://ghcr.io', insecure: false });
      expect(access.ca).toBeUndefined();
      expect(access.credential).toBeUndefined();
    });

    it('reaches an insecure registry over http', () => {
      const access = new RegistrySettings([entry('127.0.0.1:5000', { insecure: true })]).accessFor(
        '127.0.0.1:5000',
      );

      expect(access).toMatchObject({ baseUrl: 'http://127.0.0.1:5000', insecure: true });
    });

    it('reaches an insecure registry matched by a glob over http', () => {
      const access = new RegistrySettings([entry('*.lan:5000', { insecure: true })]).accessFor(
        'nas.lan:5000',
      );

      expect(access.baseUrl).toBe('http://nas.lan:5000');
    });

    it("trusts the system's roots plus the entry's PEM", () => {
      const access = new RegistrySettings([
        entry('registry.example.com', { caFile: '/etc/ca.pem', caPem: PEM }),
      ]).accessFor('registry.example.com');

      expect(access.ca).toEqual([...rootCertificates, PEM]);
    });

    it("applies docker.io's entry to Docker Hub", () => {
      const credentials = new Map([['docker.io', { username: 'hub', password: 'pw' }]]);
      const access = new RegistrySettings([entry('docker.io', { credentials, caPem: PEM })]).accessFor(
        'docker.io',
      );

      expect(access.baseUrl).toBe('https://registry-1.docker.io');
      expect(access.credential).toEqual({ username: 'hub', password: 'pw' });
      expect(access.ca).toContain(PEM);
    });

    it("takes the registry's credential from its entry's credentials", () => {
      const credentials = new Map([
        ['registry.example.com', { username: 'ci', password: 'pw' }],
        ['other.example.com', { username: 'x', password: 'y' }],
      ]);
      const sut = new RegistrySettings([entry('*.example.com', { credentials })]);

      expect(sut.accessFor('registry.example.com').credential).toEqual({ username: 'ci', password: 'pw' });
      expect(sut.accessFor('third.example.com').credential).toBeUndefined();
    });

    it('says which hosts the policy lists, exact or by glob', () => {
      const { policyLists } = new RegistrySettings([
        entry('registry.example.com'),
        entry('*.auth.example.com:8443'),
      ]).accessFor('registry.example.com');

      expect(policyLists('registry.example.com')).toBe(true);
      expect(policyLists('token.auth.example.com:8443')).toBe(true);
      expect(policyLists('token.auth.example.com')).toBe(false);
      expect(policyLists('10.0.0.1')).toBe(false);
    });
  });
});
