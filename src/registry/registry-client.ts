import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { CacheEvent } from '../cache';
import {
  BlobCall,
  DigestCall,
  DistributionApi,
  FetchedManifest,
  ManifestDescriptor,
  TagCall,
} from './distribution-api';
import { RegistryAuth } from './registry-auth';
import { RegistryObserver, RegistryObservers } from './registry-observer';
import { RegistryTransport } from './registry-transport';

/**
 * The one registry client the rest of the bouncer uses. Behind it: the transport (every connection,
 * its pools and its limits), auth (Basic, and Bearer tokens reused per registry and scope until they
 * expire, their realms checked) and the distribution API (what to ask and how each failure is named).
 * It caches only tokens: what registry content may be cached, and for how long, is for its callers.
 */
@Injectable()
export class RegistryClient implements OnModuleDestroy {
  private readonly observers = new RegistryObservers();
  private readonly transport = new RegistryTransport(this.observers);
  private readonly auth = new RegistryAuth(this.transport, this.observers);
  private readonly api = new DistributionApi(this.transport, this.auth);

  observe(observer: RegistryObserver): void {
    this.observers.add(observer);
  }

  /** Caches kept over this client's answers report through it, so observers see them all. */
  reportCacheEvent(cache: string, event: CacheEvent): void {
    this.observers.cache(cache, event);
  }

  /** Bytes read from registries and held now, against the worker's budget. */
  get bytesHeld(): number {
    return this.transport.worker.held;
  }

  async onModuleDestroy(): Promise<void> {
    await this.transport.close();
  }

  /** The digest a tag points at now. */
  resolveTag(call: TagCall): Promise<{ digest: string; mediaType?: string }> {
    return this.api.resolveTag(call);
  }

  /** A manifest by digest, checked against it. */
  getManifest(call: DigestCall): Promise<FetchedManifest> {
    return this.api.getManifest(call);
  }

  /** The manifest a tag names, or `undefined` when the tag does not exist. */
  getTaggedManifest(call: TagCall): Promise<FetchedManifest | undefined> {
    return this.api.getTaggedManifest(call);
  }

  /** A blob by digest, at most `maxBytes`, checked against its digest. */
  getBlob(call: BlobCall): Promise<Buffer> {
    return this.api.getBlob(call);
  }

  /** The artifacts that name a digest as their subject (referrers, or their fallback tag). */
  listReferrers(call: DigestCall): Promise<readonly ManifestDescriptor[]> {
    return this.api.listReferrers(call);
  }
}
