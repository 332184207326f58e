// TLS material as the server and the CLI see it: loading, watching and self-signing.
export {
  TlsMaterialError,
  generateSelfSignedPair,
  httpsServerOptions,
  loadTlsMaterial,
  secureContextOptions,
} from './tls-material';
export { TlsMaterialService } from './tls-material.service';
export { TlsModule } from './tls.module';
