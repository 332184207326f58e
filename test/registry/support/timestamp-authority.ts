import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Server, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TimestampAuthority, timestampAuthority } from '../../../src/testing/timestamp-fixtures';
import { fetchablePort, goTool } from './local-registry';

/**
 * sigstore's timestamp-authority (v2.1.3) with a file signer, reachable only on 127.0.0.1.
 *
 * The server always opens a Prometheus listener on every interface (`:2112`), with no flag to
 * move or close it. So it runs in a network namespace of its own (`unshare -rn`: a new user and
 * network namespace, whose only interface is a loopback that is down), where that listener and
 * any other reach nothing, and serves its API on a unix socket (`--scheme unix`), which is a file
 * and so reachable from outside the namespace. A small proxy on 127.0.0.1 forwards HTTP to that
 * socket for cosign and notation, which speak to a TSA over HTTP. NTP monitoring, which would
 * query public time servers, is off (`--disable-ntp-monitoring`); pprof is off by default.
 */
export interface RunningTimestampAuthority {
  /** `http://127.0.0.1:PORT/api/v1/timestamp`, as cosign's and notation's `--timestamp-url`. */
  readonly url: string;
  /** The TSA's certificate and its root, PEM, as a TSA chain file lists them. */
  readonly chainPem: string;
  readonly rootPem: string;
  readonly certificate: TimestampAuthority;
  /** Requests the proxy passed on: the TSA was asked. */
  readonly requests: () => number;
  stop(): Promise<void>;
}

export async function startTimestampAuthority(name: string): Promise<RunningTimestampAuthority> {
  const dir = mkdtempSync(join(tmpdir(), 'kib-tsa-'));
  const authority = await timestampAuthority(name);
  const keyPath = join(dir, 'tsa.key');
  const chainPath = join(dir, 'chain.pem');
  const socket = join(dir, 'tsa.sock');
  writeFileSync(keyPath, authority.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(chainPath, authority.chainPem);
  const logPath = join(dir, 'timestamp-server.log');
  const log = openSync(logPath, 'a');
  const child: ChildProcess = spawn(
    'unshare',
    [
      '-rn',
      goTool('timestamp-server'),
      'serve',
      '--scheme',
      'unix',
      '--socket-path',
      socket,
      '--timestamp-signer',
      'file',
      '--file-signer-key-path',
      keyPath,
      '--certificate-chain-path',
      chainPath,
      '--include-chain-in-response',
      '--disable-ntp-monitoring',
      '--log-type',
      'prod',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  for (let tries = 0; !existsSync(socket); tries++) {
    if (child.exitCode !== null || tries > 300)
      throw new Error(`timestamp-server did not start: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    await delay(100);
  }
  let forwarded = 0;
  const proxy: Server = createServer((incoming, outgoing) => {
    forwarded++;
    const upstream = request(
      { socketPath: socket, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => outgoing.writeHead(502).end(String(error)));
    incoming.pipe(upstream);
  });
  const port = await fetchablePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/api/v1/timestamp`,
    chainPem: authority.chainPem,
    rootPem: authority.root.pem,
    certificate: authority,
    requests: () => forwarded,
    stop: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
