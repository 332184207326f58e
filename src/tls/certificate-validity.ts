import { TlsMaterial } from './tls-material';

/**
 * Where the serving certificate stands against the clock. Outside its validity the apiserver
 * refuses the handshake (Go's crypto/x509 checks notBefore and notAfter), so every review fails:
 * readiness must say so. Within the warning window it still serves, and operators are told.
 */
export type CertificateValidity =
  | { readonly state: 'valid' }
  | { readonly state: 'expiring'; readonly message: string }
  | { readonly state: 'not-yet-valid' | 'expired'; readonly message: string };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** "3 day(s)" from two days on, "36 hour(s)" below, "12 minute(s)" below an hour. */
function remaining(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} day(s)`;
  if (ms >= HOUR_MS) return `${Math.floor(ms / HOUR_MS)} hour(s)`;
  return `${Math.max(1, Math.floor(ms / 60_000))} minute(s)`;
}

export function certificateValidity(
  material: Pick<TlsMaterial, 'notBefore' | 'notAfter'>,
  now: Date,
  warningMs: number,
): CertificateValidity {
  const { notBefore, notAfter } = material;
  if (now < notBefore)
    return {
      state: 'not-yet-valid',
      message: `serving certificate is not valid until ${notBefore.toISOString()}; clients refuse it until then`,
    };
  if (now > notAfter)
    return {
      state: 'expired',
      message: `serving certificate expired at ${notAfter.toISOString()}; clients refuse it`,
    };
  const left = notAfter.getTime() - now.getTime();
  if (left < warningMs)
    return {
      state: 'expiring',
      message: `serving certificate expires in ${remaining(left)}, at ${notAfter.toISOString()}`,
    };
  return { state: 'valid' };
}
