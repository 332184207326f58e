// The registry feature as others see it: one client for the distribution API, how the policy says
// registries are reached, and how their failures are named.
export * from './docker-config';
export * from './registry-failure';
export * from './registry-settings';
export * from './registry-deadline';
export * from './registry-observer';
export {
  MANIFEST_MEDIA_TYPES,
  type BlobCall,
  type DigestCall,
  type FetchedManifest,
  type ManifestDescriptor,
  type RepositoryCall,
  type TagCall,
} from './distribution-api';
export { RegistryClient } from './registry-client';
export { RegistryModule } from './registry.module';
export { DigestResolver } from './digest-resolver';
export type { DigestResolution } from './digest-resolver';
