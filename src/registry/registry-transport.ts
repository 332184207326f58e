import { createHash } from 'node:crypto';
import { Agent, Dispatcher, fetch } from 'undici';
import {
  HOP_REFUSED,
  Hop,
  HopRefusalReason,
  HopVerdict,
  MAX_REDIRECTS,
  hopName,
  judgeHop,
  publicAddressLookup,
} from './connection-guard';
import { ByteBudgetExceeded, ByteHolding, WorkerByteBudget } from './byte-budget';
import { RegistryDeadline } from './registry-deadline';
import { RegistryFailure, RegistryFailureReason } from './registry-failure';
import { RegistryObservers, RegistryOperation, RegistryRequestEvent } from './registry-observer';
import { RegistryAccess } from './registry-settings';

export type RegistryResponse = Awaited<ReturnType<typeof fetch>>;

/** One HTTP request to a registry, or to a token realm it named, and what may happen on the way. */
export interface TransportRequest {
  readonly access: RegistryAccess;
  readonly url: string | URL;
  /** Where the request starts: at the registry, or at a token realm. */
  readonly hop: Exclude<Hop, 'redirect'>;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
  readonly operation: RegistryOperation;
  readonly deadline: RegistryDeadline;
  /** Whether a redirect is followed (each hop through the guard) or is an invalid response. */
  readonly followRedirects: boolean;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Every connection the client makes, each one judged by the connection guard first: the registry,
 * every redirect hop (followed here by hand, at most 20 of them, never with the registry's
 * Authorization once the origin changes) and every token realm. It also owns the connection pools,
 * names each failure to connect or answer, and bounds what it reads: each body by its own limit,
 * and all bodies held at once by the review's and the worker's byte budgets.
 */
export class RegistryTransport {
  private readonly agents = new Map<string, Agent>();
  /** What each deadline's work holds, given back when the work settles or the deadline passes. */
  private readonly holdings = new WeakMap<RegistryDeadline, ByteHolding>();
  /** Answers whose body is still to be read: the exchange is reported once it has been. */
  private readonly unread = new WeakMap<
    RegistryResponse,
    (outcome: RegistryRequestEvent['outcome']) => void
  >();

  constructor(
    private readonly observers: RegistryObservers,
    readonly worker = new WorkerByteBudget(),
  ) {}

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
    this.agents.clear();
  }

  /**
   * The guard's verdict on a hop, counted when it refuses. Auth asks it of a realm before sharing
   * a token request among exchanges; the transport asks again of every URL it connects to.
   */
  judge(target: string | URL, hop: Hop, access: RegistryAccess, from?: URL): HopVerdict {
    const verdict = judgeHop(target, hop, access, from);
    if (!verdict.allowed) this.observers.hopRefused({ hop, reason: verdict.reason });
    return verdict;
  }

  /**
   * Sends one request, following redirects the guard allows, and reports it to the observers: at
   * once, or for an answer whose body is to be read, once `read` or `discard` is done with it.
   */
  async send(request: TransportRequest): Promise<RegistryResponse> {
    const started = process.hrtime.bigint();
    const report = (outcome: RegistryRequestEvent['outcome']): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observers.request({
        registry: request.access.registry,
        operation: request.operation,
        outcome,
        seconds,
      });
    };
    let response: RegistryResponse;
    try {
      response = await this.follow(request);
    } catch (error) {
      const failure = namedFailure(error);
      report(failure.reason);
      throw failure;
    }
    if (request.method === 'GET' && response.ok) this.unread.set(response, report);
    else report(statusOutcome(response.status));
    return response;
  }

  /** Drops an answer's body unread. */
  async discard(response: RegistryResponse): Promise<void> {
    await response.body?.cancel();
    this.finish(response, statusOutcome(response.status));
  }

  private finish(response: RegistryResponse, outcome: RegistryRequestEvent['outcome']): void {
    const report = this.unread.get(response);
    this.unread.delete(response);
    report?.(outcome);
  }

  private async follow(request: TransportRequest): Promise<RegistryResponse> {
    const { access, method, deadline } = request;
    let hop: Hop = request.hop;
    let target: string | URL = request.url;
    let from: URL | undefined;
    let headers = request.headers;
    let origin: string | undefined;
    for (let redirects = 0; ; redirects += 1) {
      const verdict = this.judge(target, hop, access, from);
      if (!verdict.allowed) throw new RegistryFailure(refusalFailure(hop, verdict.reason), verdict.why);
      const { url } = verdict;
      origin ??= url.origin;
      // Credentials are for the origin the exchange began at, as the Fetch standard has it.
      if (url.origin !== origin) headers = withoutAuthorization(headers);
      let response: RegistryResponse;
      try {
        response = await fetch(url, {
          method,
          // Bodies as stored, not encoded for the wire: a declared length is then what is read and
          // charged, and no compressed body is inflated (undici's fetch asks for gzip unless told).
          headers: { 'Accept-Encoding': 'identity', ...headers },
          redirect: 'manual',
          signal: deadline.signal,
          dispatcher: this.agentFor(access.ca, verdict.publicOnly),
        });
      } catch (error) {
        throw this.connectionFailure(error, hop, url);
      }
      if (!REDIRECT_STATUSES.has(response.status)) return response;
      await response.body?.cancel();
      const what = `HTTP ${response.status} for ${method} ${hop === 'redirect' ? url.href : url.pathname}`;
      if (!request.followRedirects)
        throw new RegistryFailure(
          'invalid response',
          `${what}: a redirect, never followed for a ${request.operation}`,
        );
      if (redirects === MAX_REDIRECTS) {
        this.observers.hopRefused({ hop: 'redirect', reason: 'too many redirects' });
        throw new RegistryFailure('invalid response', `${what}: more than ${MAX_REDIRECTS} redirects`);
      }
      const location = response.headers.get('location');
      if (location === null) throw new RegistryFailure('invalid response', `${what} without a Location`);
      from = url;
      hop = 'redirect';
      target = resolved(location, url);
    }
  }

  /** A fetch that failed before any answer; a name the public-only lookup refused is a refused hop. */
  private connectionFailure(error: unknown, hop: Hop, url: URL): RegistryFailure {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (cause?.code !== HOP_REFUSED) return namedFailure(error);
    this.observers.hopRefused({ hop, reason: 'resolved address' });
    return new RegistryFailure(
      refusalFailure(hop, 'resolved address'),
      `${hopName(hop, url.hostname)} resolves to a private address`,
    );
  }

  /**
   * The body, refusing more than `maxBytes` (at once when its declared length says so), and holding
   * it against the review's and the worker's byte budgets as it arrives. Bytes are charged when they
   * come, not when a header promises them: a registry that declares the largest body and then sends
   * nothing would otherwise hold the worker's budget, and every other review's reads with it, without
   * spending a byte of its own bandwidth. A hostile registry can make the bouncer hold no more than
   * those budgets, and only with bytes it really sent.
   */
  async read(
    response: RegistryResponse,
    maxBytes: number,
    what: string,
    deadline: RegistryDeadline,
    operation: RegistryOperation,
  ): Promise<Buffer> {
    try {
      const body = await this.readHeld(response, maxBytes, what, deadline, operation);
      this.finish(response, 'ok');
      return body;
    } catch (error) {
      const failure = namedFailure(error);
      this.finish(response, failure.reason);
      throw failure;
    }
  }

  private async readHeld(
    response: RegistryResponse,
    maxBytes: number,
    what: string,
    deadline: RegistryDeadline,
    operation: RegistryOperation,
  ): Promise<Buffer> {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new RegistryFailure(
        'invalid response',
        `${what} is ${declared} bytes, more than the ${maxBytes} allowed`,
      );
    }
    const holding = this.holdingFor(deadline);
    let charged = 0;
    const hold = async (bytes: number): Promise<void> => {
      try {
        // A token is a few kilobytes, shared among reviews: it never waits for room, so no review
        // holding bytes can end up waiting, through a token, for a review that waits for them.
        await holding.charge(bytes, deadline.signal, operation !== 'token');
      } catch (error) {
        throw this.budgetFailure(error, what, bytes, deadline, operation);
      }
      charged += bytes;
    };
    const known = Number.isSafeInteger(declared) && declared >= 0;
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of response.body ?? []) {
        const bytes = chunk as Uint8Array;
        // Leaving the loop cancels the body; cancel() itself would throw, the stream being locked to the loop.
        if (total + bytes.byteLength > maxBytes)
          throw new RegistryFailure('invalid response', `${what} is more than the ${maxBytes} bytes allowed`);
        if (known && total + bytes.byteLength > declared)
          throw new RegistryFailure('invalid response', `${what} is longer than its Content-Length`);
        await hold(bytes.byteLength);
        chunks.push(Buffer.from(bytes));
        total += bytes.byteLength;
      }
    } catch (error) {
      holding.release(charged);
      await response.body?.cancel().catch(() => undefined);
      throw namedFailure(error);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  }

  /** What the work under `deadline` holds; given back when that work settles, or at the deadline. */
  private holdingFor(deadline: RegistryDeadline): ByteHolding {
    let holding = this.holdings.get(deadline);
    if (holding === undefined) {
      const created = new ByteHolding(deadline.budget, this.worker);
      holding = created;
      this.holdings.set(deadline, created);
      if (deadline.onSettled) deadline.onSettled(() => created.close());
      else if (deadline.signal.aborted) created.close();
      else deadline.signal.addEventListener('abort', () => created.close(), { once: true });
    }
    return holding;
  }

  private budgetFailure(
    error: unknown,
    what: string,
    bytes: number,
    deadline: RegistryDeadline,
    operation: RegistryOperation,
  ): RegistryFailure {
    if (error instanceof ByteBudgetExceeded) {
      this.observers.budgetExceeded({ budget: error.budget, operation });
      return new RegistryFailure(
        'over budget',
        error.budget === 'review'
          ? `${what} (${bytes} bytes) would take the review past the ${error.limit} bytes it may hold at once`
          : `${what} (${bytes} bytes) does not fit in the worker's ${error.limit}-byte registry budget, which other reviews fill`,
      );
    }
    if (deadline.signal.aborted) {
      this.observers.budgetExceeded({ budget: 'worker', operation });
      return new RegistryFailure(
        'timed out',
        `${what} waited for room in the worker's ${this.worker.limit}-byte registry budget until the deadline`,
      );
    }
    return namedFailure(error);
  }

  /**
   * One connection pool per set of trusted roots, and per kind of host: one the policy vouches for
   * may resolve anywhere; any other is connected to only through the public-only lookup.
   */
  private agentFor(ca: readonly string[] | undefined, publicOnly: boolean): Dispatcher {
    const roots = ca ? createHash('sha256').update(ca.join('\n')).digest('hex') : 'system';
    const key = `${roots} ${publicOnly ? 'public-only' : 'vouched'}`;
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

/** A relative Location resolved against the URL that sent it; what does not parse, the guard refuses. */
function resolved(location: string, base: URL): string | URL {
  try {
    return new URL(location, base);
  } catch {
    return location;
  }
}

function withoutAuthorization(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'),
  );
}

/**
 * The reason a refused hop fails its exchange with. A realm, as 'unauthorized' (no token); the
 * registry itself, as a private registry the policy must list; a redirect, as an invalid response:
 * the registry sent the bouncer where it does not go, which for one artifact is that artifact's
 * problem, not the registry's whole verification.
 */
function refusalFailure(hop: Hop, reason: HopRefusalReason): RegistryFailureReason {
  if (hop === 'realm') return 'unauthorized';
  if (hop === 'redirect') return 'invalid response';
  return reason === 'address' || reason === 'resolved address'
    ? 'private registry not in spec.registries'
    : 'unreachable';
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
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return new RegistryFailure('timed out', message);
  return new RegistryFailure('unreachable', code ? `${code}: ${message}` : message);
}
