import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, createSign, X509Certificate } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import { Server as NetServer, Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  CertificateAuthority,
  IssuedCertificate,
  createCertificateAuthority,
} from '../../../src/tls/certificate-issuer';
import { FETCH_BAD_PORTS } from '../../../src/testing/loopback-server';
import { freePort } from '../../support/bouncer-process';

const run = promisify(execFile);
// From the source tree (jest), or from the bench's build of it in .bench-build/test/.
const TOOLS = join(__dirname.replace(/[/\\]\.bench-build(?=[/\\])/, ''), '..', '..', 'tools', 'go-tool.sh');

/** A tool the Go module proxy builds, from the cache `test/tools/go-tool.sh` keeps. */
export function goTool(name: 'crane' | 'cosign' | 'cosign3' | 'notation' | 'timestamp-server'): string {
  return execFileSync('bash', [TOOLS, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .at(-1)!;
}

export async function fetchablePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!FETCH_BAD_PORTS.has(port)) return port;
  }
}

export interface RegistryAuth {
  /** htpasswd Basic auth with one user. */
  readonly basic?: { readonly username: string; readonly password: string };
  /** Bearer tokens from a token server on `localhost`, which grants pull to this user. */
  readonly token?: { readonly username: string; readonly password: string };
}

/**
 * Debian's `docker-registry` (distribution 2.8) on a loopback port. Several registries may serve one
 * storage folder: images are pushed with crane to an open one, and read back through others that
 * add Basic or Bearer auth or TLS, as users' registries do.
 */
export interface LocalRegistry {
  /** host:port, as image references name it. */
  readonly host: string;
  readonly storage: string;
  readonly logPath: string;
  /** The docker-registry process. */
  readonly pid: number;
  /** Manifest and tag requests the registry logged, e.g. `HEAD /v2/demo/app/manifests/v1`. */
  requests(): string[];
  stop(): Promise<void>;
}

export interface RegistryOptions {
  readonly storage?: string;
  /** The port of a registry started again (with its storage), so image references stay the same. */
  readonly port?: number;
  readonly auth?: RegistryAuth;
  readonly tls?: IssuedCertificate;
}

export async function startRegistry(
  options: RegistryOptions = {},
): Promise<LocalRegistry & { tokenServer?: TokenServer }> {
  const dir = mkdtempSync(join(tmpdir(), 'kib-registry-'));
  const storage = options.storage ?? join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const port = options.port ?? (await fetchablePort());
  const lines = [
    'version: 0.1',
    'log: {level: info, formatter: json, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${JSON.stringify(storage)}}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`,
    `http:`,
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.tls) {
    writeFileSync(join(dir, 'tls.crt'), options.tls.certificatePem);
    writeFileSync(join(dir, 'tls.key'), options.tls.privateKeyPem);
    lines.push(`  tls: {certificate: ${join(dir, 'tls.crt')}, key: ${join(dir, 'tls.key')}}`);
  }
  let tokenServer: TokenServer | undefined;
  if (options.auth?.basic) {
    const { username, password } = options.auth.basic;
    const htpasswd = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), htpasswd);
    lines.push(`auth: {htpasswd: {realm: kib-test, path: ${join(dir, 'htpasswd')}}}`);
  } else if (options.auth?.token) {
    tokenServer = await startTokenServer(options.auth.token, `127.0.0.1:${port}`);
    writeFileSync(join(dir, 'token-ca.pem'), tokenServer.signer.certificatePem);
    lines.push(
      `auth: {token: {realm: ${JSON.stringify(tokenServer.realm)}, service: ${JSON.stringify(tokenServer.service)}, issuer: kib-test-issuer, rootcertbundle: ${join(dir, 'token-ca.pem')}}}`,
    );
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const logPath = join(dir, 'registry.log');
  const log = openSync(logPath, 'a');
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const host = `127.0.0.1:${port}`;
  await waitForListening(port, child, logPath);
  return {
    host,
    storage,
    logPath,
    pid: child.pid!,
    tokenServer,
    requests: () =>
      readFileSync(logPath, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            const method = entry['http.request.method'];
            const uri = entry['http.request.uri'];
            return entry.msg === 'response completed' && typeof method === 'string' && typeof uri === 'string'
              ? [`${method} ${uri}`]
              : [];
          } catch {
            return [];
          }
        }),
    stop: async () => {
      await tokenServer?.stop();
      // Ended by a signal, the process has a signalCode and no exitCode: waiting for its exit again would hang.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForListening(port: number, child: ChildProcess, logPath: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null)
      throw new Error(`docker-registry exited with ${child.exitCode}:\n${readFileSync(logPath, 'utf8')}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await delay(50);
  }
  throw new Error(`docker-registry did not listen on ${port}:\n${readFileSync(logPath, 'utf8')}`);
}

/** A token server as distribution's `auth.token` expects: ES256 JWTs carrying the signer's certificate. */
export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly signer: CertificateAuthority;
  /** Token requests received, with whether they carried the right credentials. */
  readonly requests: { readonly scope: string | null; readonly authorized: boolean }[];
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** ECDSA signatures in DER, as node makes them, become JOSE's fixed-width r||s. */
function joseSignature(der: Buffer): Buffer {
  let offset = 2 + (der[1] & 0x80 ? der[1] & 0x7f : 0);
  const read = (): Buffer => {
    const length = der[offset + 1];
    const value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    return Buffer.concat([Buffer.alloc(32), value.subarray(Math.max(value.length - 32, 0))]).subarray(-32);
  };
  return Buffer.concat([read(), read()]);
}

async function startTokenServer(
  user: { readonly username: string; readonly password: string },
  service: string,
): Promise<TokenServer> {
  const signer = await createCertificateAuthority({ commonName: 'kib test token issuer' });
  const requests: { scope: string | null; authorized: boolean }[] = [];
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const authorized = request.headers.authorization === expected;
    const scope = url.searchParams.get('scope');
    requests.push({ scope, authorized });
    if (!authorized) {
      response.writeHead(401, { 'Content-Type': 'application/json' });
      response.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const repository = /^repository:([^:]+):/.exec(scope ?? '')?.[1];
    const now = Math.floor(Date.now() / 1000);
    const header = {
      alg: 'ES256',
      typ: 'JWT',
      x5c: [new X509Certificate(signer.certificatePem).raw.toString('base64')],
    };
    const claims = {
      iss: 'kib-test-issuer',
      sub: user.username,
      aud: url.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: createHash('sha256').update(`${now}${Math.random()}`).digest('hex'),
      access: repository ? [{ type: 'repository', name: repository, actions: ['pull'] }] : [],
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = joseSignature(createSign('SHA256').update(signingInput).sign(signer.privateKeyPem));
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ token: `${signingInput}.${base64url(signature)}`, expires_in: 300 }));
  });
  const port = await fetchablePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    // crane, like go-containerregistry, refuses a realm on 127.0.0.1; the bouncer's policy lists it.
    realm: `http://localhost:${port}/token`,
    service,
    signer,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A TCP port that accepts connections and never answers: a registry hung behind a load balancer. */
export async function startSilentServer(): Promise<{ host: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  const port = await fetchablePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/**
 * A plain-HTTP proxy in front of a registry that answers the first `count` requests whose path
 * matches with `status` (and `Retry-After` when given), then passes everything through.
 */
export async function startRefusingProxy(
  upstream: string,
  refusal: {
    readonly status: number;
    readonly count: number;
    readonly retryAfter?: string;
    readonly path?: RegExp;
  },
): Promise<{ host: string; refused: () => number; stop(): Promise<void> }> {
  let refused = 0;
  const server = createServer((request, response) => {
    if (refused < refusal.count && (refusal.path ?? /./).test(request.url ?? '')) {
      refused++;
      request.resume();
      response.writeHead(refusal.status, {
        'Content-Type': 'application/json',
        ...(refusal.retryAfter ? { 'Retry-After': refusal.retryAfter } : {}),
      });
      response.end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
      return;
    }
    const forward = new URL(request.url ?? '/', `http://${upstream}`);
    void fetch(forward, {
      method: request.method,
      headers: Object.fromEntries(
        Object.entries(request.headers).filter(([k, v]) => typeof v === 'string' && k !== 'host'),
      ) as Record<string, string>,
    }).then(
      async (answer) => {
        const headers: Record<string, string> = {};
        answer.headers.forEach((value, key) => {
          if (key !== 'content-encoding' && key !== 'transfer-encoding') headers[key] = value;
        });
        const body = Buffer.from(await answer.arrayBuffer());
        response.writeHead(answer.status, headers);
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => {
        response.writeHead(502);
        response.end();
      },
    );
  });
  const port = await fetchablePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    refused: () => refused,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Pushes images with the real crane, as users' pipelines do. */
export class Crane {
  private readonly bin = goTool('crane');
  private readonly work = mkdtempSync(join(tmpdir(), 'kib-crane-'));
  private layers = 0;

  /** A one-layer image at `reference` (host/repo:tag) whose content is `content`; its digest. */
  async push(
    reference: string,
    content: string,
    options: { oci?: boolean; platform?: string } = {},
  ): Promise<string> {
    const dir = join(this.work, `layer-${++this.layers}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'content.txt'), content);
    execFileSync('tar', ['-cf', join(dir, 'layer.tar'), '-C', dir, 'content.txt']);
    await this.crane(
      'append',
      '--insecure',
      '-f',
      join(dir, 'layer.tar'),
      '-t',
      reference,
      ...(options.oci ? ['--oci-empty-base'] : []),
    );
    if (options.platform)
      await this.crane(
        'mutate',
        '--insecure',
        '--set-platform',
        options.platform,
        reference,
        '-t',
        reference,
      );
    return this.digest(reference);
  }

  /** A multi-arch index at `reference` over the given manifests; its digest. */
  async index(reference: string, manifests: readonly string[]): Promise<string> {
    await this.crane(
      'index',
      'append',
      '--insecure',
      ...manifests.flatMap((m) => ['-m', m]),
      '-t',
      reference,
    );
    return this.digest(reference);
  }

  async copy(from: string, to: string): Promise<void> {
    await this.crane('copy', '--insecure', from, to);
  }

  async digest(reference: string): Promise<string> {
    return (await this.crane('digest', '--insecure', reference)).trim();
  }

  async crane(...args: string[]): Promise<string> {
    const { stdout } = await run(this.bin, args, { env: { ...process.env, DOCKER_CONFIG: this.work } });
    return stdout;
  }
}
