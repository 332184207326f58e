import { availableParallelism } from 'node:os';
import { workersForThisProcess } from '../cpu-quota/worker-count';
import { InvalidConfigError, resolveBouncerConfig } from './resolve-bouncer-config';

describe(resolveBouncerConfig.name, () => {
  const problemsOf = (raw: Parameters<typeof resolveBouncerConfig>[0]): readonly string[] => {
    try {
      resolveBouncerConfig(raw);
    } catch (error) {
      if (error instanceof InvalidConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected the configuration to be refused');
  };

  it('defaults to 0.0.0.0:1323 with a self-signed certificate and no health port', () => {
    const inOneCpu = { workers: () => ({ workers: 1, reason: 'a 1-CPU quota' }) };
    expect(resolveBouncerConfig({}, inOneCpu)).toEqual({
      server: {
        host: '0.0.0.0',
        port: 1323,
        healthPort: undefined,
        shutdownGraceMs: 10_000,
        workers: 1,
        workersReason: 'a 1-CPU quota',
      },
      tls: {
        certificatePath: undefined,
        keyPath: undefined,
        clientCaPath: undefined,
        expiryWarningMs: 7 * 86_400_000,
      },
      policy: { path: undefined },
      log: { level: 'info', format: 'json' },
      ledger: { dir: undefined, keyFile: undefined },
    });
  });

  it("defaults to this process's CPUs, no more than it may run on", () => {
    const { server } = resolveBouncerConfig({});
    expect(server).toMatchObject({
      workers: workersForThisProcess().workers,
      workersReason: workersForThisProcess().reason,
    });
    expect(server.workers).toBeLessThanOrEqual(availableParallelism());
  });

  it('takes --workers as given, without reading the cgroup', () => {
    const unread = {
      workers: () => {
        throw new Error('read the cgroup');
      },
    };
    expect(resolveBouncerConfig({ workers: '3' }, unread).server).toMatchObject({
      workers: 3,
      workersReason: 'set by --workers or BOUNCER_WORKERS',
    });
  });

  it('converts ports given as strings, as flags and environment variables give them', () => {
    expect(resolveBouncerConfig({ port: '8443', healthPort: '8080' }).server).toMatchObject({
      port: 8443,
      healthPort: 8080,
    });
  });

  it.each([
    ['7d', 7 * 86_400_000],
    ['36h', 36 * 3_600_000],
    ['90m', 90 * 60_000],
    ['45s', 45_000],
    ['14', 14 * 86_400_000],
    ['1.5d', 36 * 3_600_000],
    ['0', 0],
  ])('reads --certificate-expiry-warning %s as %d ms', (certificateExpiryWarning, ms) => {
    expect(resolveBouncerConfig({ certificateExpiryWarning }).tls.expiryWarningMs).toBe(ms);
  });

  it.each([
    [{ port: 'abc' }, '--port must be an integer between 1 and 65535 (got "abc")'],
    [{ port: '1.5' }, '--port must be an integer between 1 and 65535 (got "1.5")'],
    [{ port: '' }, '--port must be an integer between 1 and 65535 (got "")'],
    [{ healthPort: '65536' }, '--health-port must be an integer between 1 and 65535 (got "65536")'],
    [{ host: '' }, '--host must not be empty (got "")'],
    [
      { logLevel: 'loud' },
      '--log-level must be one of trace, debug, info, warn, error, fatal, silent (got "loud")',
    ],
    [{ logFormat: 'xml' }, '--log-format must be one of json, pretty (got "xml")'],
    [{ workers: '0' }, '--workers must be an integer between 1 and 256 (got "0")'],
    [{ workers: '257' }, '--workers must be an integer between 1 and 256 (got "257")'],
    [
      { key: __filename },
      `--cert and --key must be given together (got --key ${JSON.stringify(__filename)} and no --cert)`,
    ],
    [
      { cert: '/nonexistent/server.crt' },
      '--cert and --key must be given together (got --cert "/nonexistent/server.crt" and no --key)',
    ],
    [{ host: 'not a host' }, '--host must be an IP address or a host name (got "not a host")'],
    [{ host: '999.0.0.1' }, '--host must be an IP address or a host name (got "999.0.0.1")'],
    [{ host: '[::1]' }, '--host must be an IP address or a host name (got "[::1]")'],
    [{ clientCa: '/nonexistent' }, '--client-ca cannot read file "/nonexistent"'],
    [{ policy: '/nonexistent/policy.yaml' }, '--policy cannot read file "/nonexistent/policy.yaml"'],
    [{ port: '9000', healthPort: '9000' }, '--health-port must differ from --port (both are 9000)'],
    [
      { certificateExpiryWarning: 'a week' },
      '--certificate-expiry-warning must be a duration such as 7d, 36h or 90m, or a number of days (got "a week")',
    ],
    [
      { certificateExpiryWarning: '-1d' },
      '--certificate-expiry-warning must be a duration such as 7d, 36h or 90m, or a number of days (got "-1d")',
    ],
  ])('refuses %j: %s', (raw, problem) => {
    expect(problemsOf(raw)).toContain(problem);
  });

  it('takes IPv4 and IPv6 addresses and host names', () => {
    for (const host of ['127.0.0.1', '::1', '0.0.0.0', 'localhost', 'bouncer.example.com', 'node-1'])
      expect(resolveBouncerConfig({ host }).server.host).toBe(host);
  });

  it('names only the missing half when --cert is given alone, not a file called undefined', () => {
    expect(problemsOf({ cert: __filename })).toEqual([
      `--cert and --key must be given together (got --cert ${JSON.stringify(__filename)} and no --key)`,
    ]);
  });

  it('reports every problem at once, one line per flag', () => {
    expect(problemsOf({ port: 'x', healthPort: 'y' })).toEqual([
      '--port must be an integer between 1 and 65535 (got "x")',
      '--health-port must be an integer between 1 and 65535 (got "y")',
    ]);
  });
});
