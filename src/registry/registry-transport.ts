import { createHash } from 'node:crypto';
import { Agent, Dispatcher, fetch } from 'undici';
import { publicAddressLookup } from './realm-guard';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure } from './registry-failure';
import { RegistryObservers, RegistryOperation, RegistryRequestEvent } from './registry-observer';
import { RegistryAccess } from './registry-settings';

export type RegistryResponse = Awaited<ReturnType<typeof fetch>>;

/** One HTTP request to a registry or to a token server it named. */
export interface TransportRequest {
  readonly access: RegistryAccess;
  readonly url: string | URL;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
  readonly operation: RegistryOperation;
  readonly deadline: RegistryDeadline;
  /** Blob storage commonly redirects to a CDN; manifests and tags are served by the registry itself. */
  readonly followRedirects?: boolean;
  /** Connect only to public addresses, whatever the name resolves to. */
  readonly publicOnly?: boolean;
}

/**
 * Every connection the client makes: its connection pools, how a failure to connect or to answer
 * is named, and how much of a body is read. What to ask and how to authenticate is for the
 * distribution API and the auth above it.
 */
export class RegistryTransport {
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly observers: RegistryObservers) {}

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
    this.agents.clear();
  }

  /** Sends one request, naming its failure and reporting it to the observers either way. */
  async send(request: TransportRequest): Promise<RegistryResponse> {
    const { access, deadline } = request;
    const started = process.hrtime.bigint();
    const report = (outcome: RegistryRequestEvent['outcome']): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observers.request({ registry: access.registry, operation: request.operation, outcome, seconds });
    };
    let response: RegistryResponse;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        redirect: request.followRedirects ? 'follow' : 'error',
        signal: deadline.signal,
        dispatcher: request.publicOnly ? this.agentFor(undefined, true) : this.agentFor(access.ca),
      });
    } catch (error) {
      const failure = namedFailure(error);
      report(failure.reason);
      throw failure;
    }
    report(statusOutcome(response.status));
    return response;
  }

  /** The body, refusing more than `maxBytes`, so a hostile registry cannot fill the bouncer's memory. */
  async read(response: RegistryResponse, maxBytes: number, what: string): Promise<Buffer> {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new RegistryFailure(
        'invalid response',
        `${what} is ${declared} bytes, more than the ${maxBytes} allowed`,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of response.body ?? []) {
        total += (chunk as Uint8Array).byteLength;
        // Leaving the loop cancels the body; cancel() itself would throw, the stream being locked to the loop.
        if (total > maxBytes)
          throw new RegistryFailure('invalid response', `${what} is more than the ${maxBytes} bytes allowed`);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (error) {
      throw namedFailure(error);
    }
    return Buffer.concat(chunks);
  }

  /** One connection pool per set of trusted roots; `publicOnly` pools refuse private addresses. */
  private agentFor(ca: readonly string[] | undefined, publicOnly = false): Dispatcher {
    const key = publicOnly
      ? 'public-only'
      : ca
        ? createHash('sha256').update(ca.join('\n')).digest('hex')
        : 'system';
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: { ...(ca ? { ca: [...ca] } : {}), ...(publicOnly ? { lookup: publicAddressLookup } : {}) },
        keepAliveTimeout: 30_000,
        connections: 32,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** The failure an HTTP status means, as `ok` or one of the reasons users read. */
export function statusOutcome(status: number): RegistryRequestEvent['outcome'] {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not found';
  if (status === 429) return 'rate limited';
  return status >= 500 ? 'unreachable' : 'invalid response';
}

/** A fetch failure as one of the reasons users read. Messages name the cause, never a header. */
export function namedFailure(error: unknown): RegistryFailure {
  if (error instanceof RegistryFailure) return error;
  const name = (error as { name?: unknown }).name;
  if (name === 'AbortError' || name === 'TimeoutError')
    return new RegistryFailure('timed out', 'no answer in time');
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message =
    typeof cause?.message === 'string' ? cause.message : String((error as Error).message ?? error);
  if (code === 'EREALM') return new RegistryFailure('unauthorized', message);
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return new RegistryFailure('timed out', message);
  return new RegistryFailure('unreachable', code ? `${code}: ${message}` : message);
}
