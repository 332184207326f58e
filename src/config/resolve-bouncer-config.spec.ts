import { availableParallelism } from 'node:os';
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
    expect(resolveBouncerConfig({})).toEqual({
      server: {
        host: '0.0.0.0',
        port: 1323,
        healthPort: undefined,
        shutdownGraceMs: 10_000,
        workers: availableParallelism(),
      },
      tls: {
        certificatePath: undefined,
        keyPath: undefined,
        clientCaPath: undefined,
        expiryWarningMs: 7 * 86_400_000,
      },
      policy: { path: undefined },
      log: { level: 'info', format: 'json' },
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
    [{ key: __filename }, '--cert and --key must be given together'],
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

  it('reports every problem at once, one line per flag', () => {
    expect(problemsOf({ port: 'x', healthPort: 'y' })).toEqual([
      '--port must be an integer between 1 and 65535 (got "x")',
      '--health-port must be an integer between 1 and 65535 (got "y")',
    ]);
  });
});
