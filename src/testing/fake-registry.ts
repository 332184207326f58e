import { createHash } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { rootCertificates } from 'node:tls';
import type { ManifestDescriptor, RegistryAccess } from '../registry';
import { LoopbackTls, closeServer, listenOnLoopback } from './loopback-server';

// Media types as cosign v2.6.5 and distribution 2.8 write them (see SUPPLY-CHAIN.md).
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export const sha256 = (bytes: Buffer | string): Buffer => createHash('sha256').update(bytes).digest();
export const digestOf = (bytes: Buffer): string => `sha256:${sha256(bytes).toString('hex')}`;
/** The tag cosign writes beside `digest`: `sha256-<hex>`, with `.sig` or `.att` for its classic layout. */
export const tagFor = (digest: string, suffix = ''): string => `${digest.replace(':', '-')}${suffix}`;

/**
 * A registry in-process, serving what tests put in it the way distribution does: manifests by tag
 * or digest, blobs, and (only where a test says so) the OCI 1.1 referrers API; 404 for the rest.
 * It can also answer everything with HTTP 500, or never answer at all.
 */
export class FakeRegistry {
  readonly requests: string[] = [];
  behaviour: 'serve' | 'fail' | 'hang' = 'serve';
  /**
   * A hostile registry's own answer, tried before the honest one: return true once it has answered.
   * Tests use it to redirect, to serve malformed JSON under a valid digest, or to stall one path.
   */
  intercept?: (request: IncomingMessage, response: ServerResponse) => boolean;
  /** Bytes of every body served, as the bouncer would have to read them. */
  bytesServed = 0;
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly tags = new Map<string, string>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly referrers = new Map<string, ManifestDescriptor[]>();
  private readonly fallbackIndexes = new Map<string, ManifestDescriptor[]>();
  private server?: Server;
  private port = 0;
  /** The CA of its certificate, when it serves https. */
  private ca?: string;

  /** Serves on 127.0.0.1, over https with `tls` (whose certificate `tls.ca` issued). */
  async start(tls?: LoopbackTls & { readonly ca: string }): Promise<void> {
    this.ca = tls?.ca;
    ({ server: this.server, port: this.port } = await listenOnLoopback(
      (request, response) => this.answer(request, response),
      tls,
    ));
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `http://127.0.0.1:port`, or https. */
  get origin(): string {
    return `${this.ca ? 'https' : 'http'}://${this.host}`;
  }

  /**
   * How a policy that lists this registry (as a registry on loopback must be listed) reaches it,
   * and any `alsoListed` hosts, such as a second server it redirects to.
   */
  listedAccess(...alsoListed: string[]): RegistryAccess {
    const listed = new Set([this.host, ...alsoListed]);
    return {
      registry: this.host,
      baseUrl: `${this.ca ? 'https' : 'http'}://${this.host}`,
      insecure: !this.ca,
      ...(this.ca ? { ca: [...rootCertificates, this.ca] } : {}),
      policyLists: (host) => listed.has(host),
    };
  }

  get access(): RegistryAccess {
    return this.listedAccess();
  }

  blob(bytes: Buffer, mediaType: string, annotations?: Record<string, string>): ManifestDescriptor {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) };
  }

  manifest(
    repository: string,
    json: { readonly mediaType: string } & Record<string, unknown>,
    tag?: string,
  ): ManifestDescriptor {
    const bytes = Buffer.from(JSON.stringify(json));
    const digest = digestOf(bytes);
    this.manifests.set(`${repository}@${digest}`, { bytes, mediaType: json.mediaType });
    if (tag !== undefined) this.tags.set(`${repository}:${tag}`, digest);
    return { mediaType: json.mediaType, digest, size: bytes.length };
  }

  /** Lists an artifact under the referrers API, which this registry then offers for `subject`. */
  addReferrer(repository: string, subject: string, descriptor: ManifestDescriptor): void {
    const key = `${repository}@${subject}`;
    this.referrers.set(key, [...(this.referrers.get(key) ?? []), descriptor]);
  }

  /** Lists an artifact in the referrers fallback tag `sha256-<hex>`, as cosign does on distribution 2.8. */
  addToFallbackTag(repository: string, subject: string, descriptor: ManifestDescriptor): void {
    const key = `${repository}@${subject}`;
    const manifests = [...(this.fallbackIndexes.get(key) ?? []), descriptor];
    this.fallbackIndexes.set(key, manifests);
    this.manifest(repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, tagFor(subject));
  }

  /** How many times the manifest under this tag or digest was fetched. */
  manifestRequests(repository: string, reference: string): number {
    return this.requests.filter((r) => r === `GET /v2/${repository}/manifests/${reference}`).length;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    if (this.intercept?.(request, response)) return;
    if (this.behaviour === 'hang') return;
    if (this.behaviour === 'fail') {
      response.writeHead(500).end();
      return;
    }
    const [, repository, kind, reference] =
      /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(request.url ?? '') ?? [];
    const found = kind ? this.find(repository, kind, decodeURIComponent(reference)) : undefined;
    if (!found) {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}');
      return;
    }
    response.writeHead(200, {
      'Content-Type': found.mediaType,
      'Content-Length': found.bytes.length,
      ...(found.digest ? { 'Docker-Content-Digest': found.digest } : {}),
    });
    if (request.method !== 'HEAD') this.bytesServed += found.bytes.length;
    response.end(request.method === 'HEAD' ? undefined : found.bytes);
  }

  private find(
    repository: string,
    kind: string,
    reference: string,
  ): { bytes: Buffer; mediaType: string; digest?: string } | undefined {
    if (kind === 'blobs') {
      const bytes = this.blobs.get(reference);
      return bytes && { bytes, mediaType: 'application/octet-stream', digest: reference };
    }
    if (kind === 'manifests') {
      const digest = reference.startsWith('sha256:')
        ? reference
        : this.tags.get(`${repository}:${reference}`);
      const manifest = digest === undefined ? undefined : this.manifests.get(`${repository}@${digest}`);
      return manifest && { ...manifest, digest };
    }
    const manifests = this.referrers.get(`${repository}@${reference}`);
    return (
      manifests && {
        bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })),
        mediaType: OCI_INDEX,
      }
    );
  }
}
