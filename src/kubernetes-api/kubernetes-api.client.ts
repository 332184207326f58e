import { Agent, request } from 'undici';
import { ClusterConnection } from './kubeconfig';

/** The cluster did not answer at all: refused, unresolvable, TLS failed, timed out. The CLI exits 2. */
export class ClusterUnreachableError extends Error {
  constructor(server: string, reason: string) {
    super(`cannot reach the cluster at ${server}: ${reason}`);
    this.name = 'ClusterUnreachableError';
  }
}

/** What the apiserver answered: its status code and its JSON body (a Status on errors). */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The largest answer read: a list of every webhook configuration of a large cluster fits many times
 * over; an answer past it is cut off and treated as unreadable rather than buffered without end.
 */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** The message of a Status, or the body's start: what kubectl would print after "Error from server". */
export function statusMessage(response: ApiResponse): string {
  const body = response.body;
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  )
    return (body as { message: string }).message;
  return `HTTP ${response.status}`;
}

/**
 * A minimal client of the Kubernetes API over undici (already the registry client's transport), so
 * the CLI needs no Kubernetes client library: doctor reads two lists and sends dry runs. Each call
 * answers with the status and body; only a cluster that does not answer throws.
 */
export class KubernetesApiClient {
  private readonly agent: Agent;

  constructor(readonly connection: ClusterConnection) {
    this.agent = new Agent({
      connect: {
        ca: connection.certificateAuthority,
        cert: connection.clientCertificate,
        key: connection.clientKey,
        rejectUnauthorized: !connection.insecureSkipTlsVerify,
      },
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  get(path: string): Promise<ApiResponse> {
    return this.send('GET', path);
  }

  /** A create with `dryRun=All`: admission runs in full, nothing is stored. */
  createDryRun(path: string, object: unknown): Promise<ApiResponse> {
    return this.send('POST', `${path}?dryRun=All`, JSON.stringify(object), 'application/json');
  }

  /** A strategic-merge patch with `dryRun=All`, as `kubectl debug` patches ephemeral containers. */
  patchDryRun(path: string, patch: unknown): Promise<ApiResponse> {
    return this.send(
      'PATCH',
      `${path}?dryRun=All`,
      JSON.stringify(patch),
      'application/strategic-merge-patch+json',
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async send(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<ApiResponse> {
    const { server, token } = this.connection;
    let response;
    try {
      response = await request(urlOf(server, path), {
        method,
        dispatcher: this.agent,
        headers: {
          accept: 'application/json',
          'user-agent': 'kube-image-bouncer-doctor',
          ...(contentType ? { 'content-type': contentType } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body,
      });
    } catch (error) {
      throw new ClusterUnreachableError(server, reasonOf(error));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        response.body.destroy();
        return { status: response.statusCode, body: undefined };
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text.slice(0, 200);
    }
    if (response.statusCode === 401)
      throw new ClusterUnreachableError(
        server,
        `the credentials of the kubeconfig were refused (401): ${statusMessage({ status: 401, body: parsed })}`,
      );
    return { status: response.statusCode, body: parsed };
  }
}

/**
 * The request's URL: the server's scheme, host and path prefix (a proxy's), then our path and our
 * query alone, as client-go builds it. Concatenated, a server's own query or fragment would swallow
 * ours, and a canary sent without its `dryRun=All` would be created for real.
 */
function urlOf(server: string, path: string): URL {
  const url = new URL(server);
  const query = path.indexOf('?');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${query < 0 ? path : path.slice(0, query)}`;
  url.search = query < 0 ? '' : path.slice(query);
  url.hash = '';
  return url;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = (error as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code;
  const message = cause instanceof Error ? cause.message : error.message;
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
