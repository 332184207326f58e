import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Server, createServer } from 'node:net';
import { join } from 'node:path';
import { TLSSocket, connect } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { workersForThisProcess } from '../src/cpu-quota/worker-count';
import { issueCertificate } from '../src/tls/certificate-issuer';
import { BouncerProcess, freePort, runBouncer } from './support/bouncer-process';
import { runCli } from './support/cli-run';
import { imageReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';

const SERVING = 'kube-image-bouncer serving';

function tlsConnect(port: number, ca?: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: ca !== undefined }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

async function presentedFingerprint(port: number): Promise<string> {
  const socket = await tlsConnect(port);
  const fingerprint = new X509Certificate(socket.getPeerCertificate().raw).fingerprint256;
  socket.end();
  return fingerprint;
}

async function reviewOver(
  port: number,
  ca: string | undefined,
  images: string[],
): Promise<{ allowed: boolean; reason?: string }> {
  const test = request(`https://127.0.0.1:${port}`).post('/image_policy').send(imageReview(images));
  const response = await (ca ? test.ca(ca) : test.disableTLSCerts()).expect(200);
  return response.body.status as { allowed: boolean; reason?: string };
}

describe('kube-image-bouncer CLI', () => {
  let pki: TestPki;
  const running: BouncerProcess[] = [];
  const start = (args: string[], env: Record<string, string> = {}): BouncerProcess => {
    const bouncer = runBouncer(args, env);
    running.push(bouncer);
    return bouncer;
  };

  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((b) => b.stop()));
  });

  it('prints help for serve, with every option and its environment variable', async () => {
    const help = start(['serve', '--help']);
    expect(await help.exited).toBe(0);
    for (const text of [
      '--policy',
      'BOUNCER_POLICY',
      '--port',
      'BOUNCER_PORT',
      '--cert',
      'BOUNCER_CERTIFICATE',
      '--key',
      'BOUNCER_KEY',
      '--client-ca',
      'BOUNCER_CLIENT_CA',
      '--health-port',
      'BOUNCER_HEALTH_PORT',
      '--host',
      '--certificate-expiry-warning',
      'BOUNCER_CERTIFICATE_EXPIRY_WARNING',
    ]) {
      expect(help.output()).toContain(text);
    }
  });

  it('with no arguments, serves HTTPS on 1323 with a self-signed certificate and warns with its fingerprint', async () => {
    const bouncer = start([]);
    await bouncer.waitFor(SERVING);

    const fingerprint = await presentedFingerprint(1323);
    expect(bouncer.output()).toContain(
      `self-signed certificate made at start, SHA-256 fingerprint ${fingerprint}`,
    );
    expect(await reviewOver(1323, undefined, ['nginx'])).toMatchObject({ allowed: false });
  });

  it('accepts the original Go-style invocation: -cert server.cert -key server.key', async () => {
    const port = await freePort();
    const bouncer = start([
      '-cert',
      pki.paths.serverCert,
      '-key',
      pki.paths.serverKey,
      '-port',
      String(port),
    ]);
    await bouncer.waitFor(SERVING);

    expect(await presentedFingerprint(port)).toBe(pki.server.fingerprint256);
    expect(await reviewOver(port, pki.ca.certificatePem, ['nginx:1.13.8'])).toEqual({
      allowed: true,
      auditAnnotations: expect.any(Object),
    });
  });

  it('takes every option from its environment variable', async () => {
    const [port, healthPort] = [await freePort(), await freePort()];
    const bouncer = start(['serve'], {
      BOUNCER_PORT: String(port),
      BOUNCER_CERTIFICATE: pki.paths.serverCert,
      BOUNCER_KEY: pki.paths.serverKey,
      BOUNCER_CLIENT_CA: pki.paths.caCert,
      BOUNCER_HEALTH_PORT: String(healthPort),
      BOUNCER_HOST: '127.0.0.1',
      BOUNCER_WORKERS: '2',
    });
    await bouncer.waitFor(SERVING);

    const ready = await request(`http://127.0.0.1:${healthPort}`).get('/readyz').expect(200);
    expect(ready.body.info.tls).toMatchObject({ fingerprint256: pki.server.fingerprint256, mutualTls: true });
    expect(ready.body.workers).toHaveLength(2);
    const answered = await request(`https://127.0.0.1:${port}`)
      .post('/policy')
      .ca(pki.ca.certificatePem)
      .cert(pki.client.certificatePem)
      .key(pki.client.privateKeyPem)
      .send(imageReview(['nginx']))
      .expect(200);
    expect(answered.body.status.allowed).toBe(false);
  });

  it('says how many workers serve and why: the CPUs its cgroup quota and affinity allow, or the flag', async () => {
    const port = await freePort();
    const { workers, reason } = workersForThisProcess();
    const defaulted = start(['--port', String(port), '--host', '127.0.0.1']);
    await defaulted.waitFor(SERVING);
    const announced = defaulted.output().split('\n')[0];
    expect(JSON.parse(announced)).toMatchObject({
      workers,
      reason,
      msg: `${workers === 1 ? '1 worker (a single process)' : `${workers} workers and a primary`}: ${reason}`,
    });
    await defaulted.stop();

    const given = start(['--port', String(port), '--host', '127.0.0.1'], { BOUNCER_WORKERS: '1' });
    await given.waitFor(SERVING);
    expect(given.output()).toContain(
      '"msg":"1 worker (a single process): set by --workers or BOUNCER_WORKERS"',
    );
  }, 30_000);
  describe('a serving certificate near its expiry', () => {
    let expiring: { certPath: string; keyPath: string; notAfter: string };
    beforeAll(async () => {
      const pair = await issueCertificate(pki.ca, {
        commonName: 'expiring',
        usages: ['server'],
        ipAddresses: ['127.0.0.1'],
        notAfter: new Date(Date.now() + 3 * 86_400_000 + 3_600_000),
      });
      expiring = {
        certPath: join(pki.dir, 'expiring.crt'),
        keyPath: join(pki.dir, 'expiring.key'),
        notAfter: pair.notAfter.toISOString(),
      };
      writeFileSync(expiring.certPath, pair.certificatePem);
      writeFileSync(expiring.keyPath, pair.privateKeyPem);
    });
    const serveExpiring = async (extra: string[], env: Record<string, string> = {}) => {
      const files = ['--cert', expiring.certPath, '--key', expiring.keyPath, '--host', '127.0.0.1'];
      const bouncer = start([...files, '--port', String(await freePort()), '--workers', '1', ...extra], env);
      await bouncer.waitFor(SERVING);
      return bouncer.output();
    };
    const WARNING = `serving certificate expires in 3 day(s), at `;

    it('is warned about in the log at start, from 7 days before expiry by default', async () => {
      const warning = (await serveExpiring([])).split('\n').find((line) => line.includes(WARNING));
      expect(JSON.parse(warning!)).toMatchObject({
        level: 'warn',
        msg: `${WARNING}${expiring.notAfter}; renew it before then (--certificate-expiry-warning 7d)`,
      });
    });

    it('is not warned about before --certificate-expiry-warning, or its environment variable, says', async () => {
      expect(await serveExpiring(['--certificate-expiry-warning', '2d'])).not.toContain(WARNING);
      expect(await serveExpiring([], { BOUNCER_CERTIFICATE_EXPIRY_WARNING: '48h' })).not.toContain(WARNING);
      expect(await serveExpiring([], { BOUNCER_CERTIFICATE_EXPIRY_WARNING: '4' })).toContain(WARNING);
    });
  });

  it('lets a flag override its environment variable', async () => {
    const port = await freePort();
    const bouncer = start(['--port', String(port), '--host', '127.0.0.1'], { BOUNCER_PORT: 'not-a-port' });
    await bouncer.waitFor(SERVING);
    expect(bouncer.output()).toContain(`https://127.0.0.1:${port}`);
  });

  describe('refuses a bad configuration at boot with exit status 2 and a clear message', () => {
    it.each([
      [['--port', 'abc'], '--port must be an integer between 1 and 65535 (got "abc")'],
      [['--port', '70000'], '--port must be an integer between 1 and 65535 (got "70000")'],
      [['--health-port', '0'], '--health-port must be an integer between 1 and 65535 (got "0")'],
      [['--cert', 'CERT'], '--cert and --key must be given together'],
      [
        ['--cert', '/nonexistent/server.crt', '--key', '/nonexistent/server.key'],
        '--cert cannot read file "/nonexistent/server.crt"',
      ],
      [['--client-ca', '/nonexistent/ca.crt'], '--client-ca cannot read file "/nonexistent/ca.crt"'],
      [['--policy', '/nonexistent/policy.yaml'], '--policy cannot read file "/nonexistent/policy.yaml"'],
      [['--port', '8443', '--health-port', '8443'], '--health-port must differ from --port'],
      [
        ['--certificate-expiry-warning', 'soon'],
        '--certificate-expiry-warning must be a duration such as 7d, 36h or 90m, or a number of days (got "soon")',
      ],
    ])('%j', async (args, message) => {
      const resolved = args.map((a) => (a === 'CERT' ? pki.paths.serverCert : a));
      const bouncer = start(resolved);
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain(message);
    });

    it('a key that does not belong to the certificate', async () => {
      const otherKey = join(pki.dir, 'other.key');
      writeFileSync(otherKey, pki.client.privateKeyPem);
      const bouncer = start([
        '--cert',
        pki.paths.serverCert,
        '--key',
        otherKey,
        '--port',
        String(await freePort()),
      ]);
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain('do not form a usable pair');
    });

    it('a client CA file that is not a certificate', async () => {
      const bouncer = start(['--client-ca', pki.paths.serverKey, '--port', String(await freePort())]);
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain('is not a PEM certificate');
    });

    it('a policy file that does not validate, naming its line', async () => {
      const policy = join(pki.dir, 'broken-policy.yaml');
      writeFileSync(
        policy,
        'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - {name: x, enforcement: wran, requireDigest: true}\n',
      );
      const bouncer = start(['--policy', policy, '--port', String(await freePort())]);
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain(
        `${policy}:5: spec.rules[0].enforcement must be one of enforce, warn, audit (got "wran")`,
      );
    });

    describe('in one line on stderr, naming the flag and the value, in one process and from workers', () => {
      let occupied: Server;
      let busy: number;
      beforeAll(async () => {
        occupied = createServer();
        await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
        busy = (occupied.address() as { port: number }).port;
      });
      afterAll(() => new Promise((resolve) => occupied.close(resolve)));

      // BUSY is a port another server holds, FREE one nobody does, CERT the test certificate.
      it.each([
        [
          'an address that is not one',
          ['--host', '999.0.0.1'],
          '--host must be an IP address or a host name (got "999.0.0.1")',
        ],
        [
          'a host with spaces',
          ['--host', 'not a host'],
          '--host must be an IP address or a host name (got "not a host")',
        ],
        [
          'a host name that does not resolve',
          ['--host', 'no-such-host.invalid', '--workers', '1'],
          'cannot listen on --host no-such-host.invalid --port 1323: the host name does not resolve to an address',
        ],
        [
          '--cert alone',
          ['--cert', 'CERT'],
          '--cert and --key must be given together (got --cert "CERT" and no --key)',
        ],
        [
          'a review port in use, one process',
          ['--host', '127.0.0.1', '--port', 'BUSY', '--workers', '1'],
          'cannot listen on --host 127.0.0.1 --port BUSY: the port is already in use',
        ],
        [
          'a review port in use, two workers',
          ['--host', '127.0.0.1', '--port', 'BUSY', '--workers', '2'],
          'cannot listen on --host 127.0.0.1 --port BUSY: the port is already in use',
        ],
        [
          'a health port in use, one process',
          ['--host', '127.0.0.1', '--port', 'FREE', '--health-port', 'BUSY', '--workers', '1'],
          'cannot listen on --host 127.0.0.1 --health-port BUSY: the port is already in use',
        ],
        [
          'a health port in use, two workers',
          ['--host', '127.0.0.1', '--port', 'FREE', '--health-port', 'BUSY', '--workers', '2'],
          'cannot listen on --host 127.0.0.1 --health-port BUSY: the port is already in use',
        ],
      ])('%s', async (_case, args, line) => {
        const tokens: Record<string, string> = {
          BUSY: String(busy),
          FREE: String(await freePort()),
          CERT: pki.paths.serverCert,
        };
        const fill = (text: string): string => text.replace(/BUSY|FREE|CERT/g, (token) => tokens[token]);
        const run = runCli(args.map(fill));
        expect(run).toMatchObject({ status: 2, stderr: `kube-image-bouncer: ${fill(line)}\n` });
      });
    });

    it('an unknown option', async () => {
      const bouncer = start(['--colour', 'blue']);
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain("unknown option '--colour'");
    });
  });

  it('on SIGTERM, finishes the review in flight, refuses new connections, and exits 0', async () => {
    const port = await freePort();
    const bouncer = start([
      '--cert',
      pki.paths.serverCert,
      '--key',
      pki.paths.serverKey,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ]);
    await bouncer.waitFor(SERVING);

    const body = JSON.stringify(imageReview(['nginx:1.13.8']));
    const socket = await tlsConnect(port, pki.ca.certificatePem);
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Expect: 100-continue makes the server say when it has the request, instead of a guessed delay
    // after which a busy server may not have read it yet.
    socket.write(
      `POST /image_policy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    while (!reply.includes('HTTP/1.1 100 Continue\r\n\r\n')) await delay(5);
    socket.write(body.slice(0, 20));

    bouncer.child.kill('SIGTERM');
    await bouncer.waitFor('SIGTERM received');
    await expect(tlsConnect(port, pki.ca.certificatePem)).rejects.toThrow(/ECONNREFUSED/);

    socket.write(body.slice(20));
    await closed;
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(reply).toContain('"allowed":true');
    expect(await bouncer.exited).toBe(0);
  });
});
