import { IncomingMessage, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { KubernetesApiClient } from './kubernetes-api.client';

/** What an apiserver on loopback was asked: method, path and query, as it parses them. */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly dryRun: string | null;
}

describe(KubernetesApiClient.name, () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      const url = new URL(request.url ?? '/', 'http://apiserver');
      seen.push({ method: request.method ?? '', path: url.pathname, dryRun: url.searchParams.get('dryRun') });
      request.resume();
      response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (seen.length = 0));

  const clientOf = (serverUrl: string): KubernetesApiClient =>
    new KubernetesApiClient({ context: 'hostile', server: serverUrl, insecureSkipTlsVerify: false });

  it.each([
    ['a query that swallows ours', '/api/v1/namespaces/default/pods?x='],
    ['a fragment', '#'],
    ['a query of its own', '?dryRun=None'],
    ['a path prefix (a proxy), for contrast', '/k8s'],
  ])('never persists a canary: a kubeconfig server with %s still sends dryRun=All', async (_case, tail) => {
    const client = clientOf(`${base}${tail}`);
    try {
      await client.createDryRun('/api/v1/namespaces/default/pods', { kind: 'Pod' });
      await client.patchDryRun('/api/v1/namespaces/default/pods/p/ephemeralcontainers', {});
    } finally {
      await client.close();
    }

    expect(seen.map((request) => request.dryRun)).toEqual(['All', 'All']);
    expect(seen[0].path).toMatch(/\/api\/v1\/namespaces\/default\/pods$/);
  });
});
