import { Agent, request } from 'node:https';

/** Where the clients create pods: the kube-apiserver on loopback, with the admin token of its kubeconfig. */
export interface PodTarget {
  readonly port: number;
  readonly caPem: string;
  readonly token: string;
  readonly namespace: string;
}

export interface PodLoad {
  readonly clients: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** The image of the n-th pod created (n counts from 0 across every client). */
  readonly image: (n: number) => string;
  /**
   * Inspects one created pod in every INSPECT_EVERY, with the apiserver's Warning headers (where a
   * webhook's warnings arrive): a reason it was admitted wrongly (not pinned...), or undefined.
   */
  readonly inspect?: (pod: PodObject, warnings: string) => string | undefined;
  /** Called once, as the warm-up ends and the measured window opens. */
  readonly onMeasuring?: () => void;
}

export interface PodObject {
  readonly metadata?: { readonly name?: string };
  readonly spec?: { readonly containers?: readonly { readonly image?: string }[] };
}

export interface PodLoadResult {
  /** Milliseconds from request to full response, of each pod admitted in the measured window. */
  readonly latenciesMs: number[];
  readonly errors: number;
  readonly seconds: number;
  /** The first few errors, as `status: message`, so that a denial is named rather than timed. */
  readonly errorSamples: string[];
  readonly inspected: number;
}

const INSPECT_EVERY = 25;
const ERROR_SAMPLES = 5;
/** A guard against a hung request, well above the webhooks' 5 s timeout. */
const REQUEST_TIMEOUT_MS = 30_000;

function podManifest(n: number, image: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${n}`, labels: { app: 'bench' } },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image,
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
        },
      ],
    },
  });
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** The Warning headers, joined. */
  readonly warnings: string;
}

/** One pod of `image`, created with dryRun=All over a fresh connection: the probes between cases. */
export async function createOnePod(target: PodTarget, image: string): Promise<Answer> {
  const agent = new Agent({ keepAlive: false });
  try {
    return await createPod(target, agent, podManifest(0, image));
  } finally {
    agent.destroy();
  }
}

export function createdImage(answer: Answer): string | undefined {
  if (answer.status !== 201) return undefined;
  return (JSON.parse(answer.body) as PodObject).spec?.containers?.[0]?.image;
}

function createPod(target: PodTarget, agent: Agent, manifest: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: 'POST',
        // dryRun=All: admission runs in full, webhooks included, and nothing is stored, so no node is needed.
        path: `/api/v1/namespaces/${target.namespace}/pods?dryRun=All`,
        agent,
        ca: target.caPem,
        headers: {
          Authorization: `Bearer ${target.token}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': Buffer.byteLength(manifest),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            warnings: [res.headers.warning ?? []].flat().join('\n'),
          }),
        );
        res.once('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
    req.once('error', reject);
    req.end(manifest);
  });
}

export function describeRefusal(answer: Answer): string {
  try {
    const status = JSON.parse(answer.body) as { message?: string };
    return `${answer.status}: ${status.message ?? answer.body.slice(0, 300)}`;
  } catch {
    return `${answer.status}: ${answer.body.slice(0, 300)}`;
  }
}

/**
 * `clients` concurrent clients, each creating pods one after another over one keep-alive agent (one
 * per client level, `clients` sockets), for `warmupSeconds` unmeasured and then `seconds` measured.
 * Only a 201 Created counts as admitted: a denial is an error, never a latency.
 */
export async function createPods(target: PodTarget, load: PodLoad): Promise<PodLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.clients, maxFreeSockets: load.clients });
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let inspected = 0;
  let next = 0;
  const measureFrom = performance.now() + load.warmupSeconds * 1_000;
  const end = measureFrom + load.seconds * 1_000;
  const noteError = (message: string): void => {
    errors++;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(message);
  };

  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const n = next++;
      const manifest = podManifest(n, load.image(n));
      const started = performance.now();
      const measured = started >= measureFrom;
      try {
        const answer = await createPod(target, agent, manifest);
        const elapsed = performance.now() - started;
        if (answer.status !== 201) {
          if (measured) noteError(describeRefusal(answer));
          continue;
        }
        if (load.inspect && n % INSPECT_EVERY === 0) {
          inspected++;
          const wrong = load.inspect(JSON.parse(answer.body) as PodObject, answer.warnings);
          if (wrong) {
            noteError(`pod ${n} admitted wrongly: ${wrong}`);
            continue;
          }
        }
        if (measured) latenciesMs.push(elapsed);
      } catch (error) {
        if (measured) noteError(error instanceof Error ? error.message : String(error));
      }
    }
  };
  const measuring = setTimeout(() => load.onMeasuring?.(), load.warmupSeconds * 1_000);
  try {
    await Promise.all(Array.from({ length: load.clients }, client));
  } finally {
    clearTimeout(measuring);
    agent.destroy();
  }
  // The window closes when the last request in flight at `end` answers.
  const seconds = (Math.max(performance.now(), end) - measureFrom) / 1_000;
  return { latenciesMs, errors, seconds, errorSamples, inspected };
}
