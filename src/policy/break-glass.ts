/**
 * Break-glass: a pod annotation `break-glass.image-policy.k8s.io/<ticket>: "<RFC 3339 expiry>"`
 * lets a denied pod through until the expiry. ImagePolicyWebhook forwards it, because its key
 * contains `.image-policy.k8s.io/`; AdmissionReview reads it from the pod (template) metadata.
 */
export const BREAK_GLASS_ANNOTATION_PREFIX = 'break-glass.image-policy.k8s.io/';

// RFC 3339 date-time as Kubernetes writes it (metav1.Time): date, 'T', time, optional fraction, zone.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface BreakGlassTicket {
  readonly ticket: string;
  readonly expires: Date;
}

/** `INC-1 until 2026-12-01T10:00:00.000Z`, as warnings, audit annotations and `check` name a ticket. */
export const describeTicket = ({ ticket, expires }: BreakGlassTicket): string =>
  `${ticket} until ${expires.toISOString()}`;

export interface BreakGlassReading {
  /** Whether any break-glass annotation is present at all. */
  readonly present: boolean;
  /** The valid ticket that runs longest, if any. */
  readonly active?: BreakGlassTicket;
  /** Why the other tickets were not honoured: expired, too far ahead, or no valid expiry. */
  readonly refusals: readonly string[];
}

/** How far ahead a ticket may expire when no policy says otherwise. */
export const DEFAULT_BREAK_GLASS_MAX_HOURS = 24;

/**
 * Reads the tickets in a pod's annotations. A ticket whose expiry lies more than `maxHours` ahead is
 * refused: anyone who can create a pod can write the annotation, so an unbounded expiry would be a
 * permanent exemption rather than an emergency override.
 */
export function readBreakGlass(
  annotations: Readonly<Record<string, string>>,
  now: Date,
  maxHours = DEFAULT_BREAK_GLASS_MAX_HOURS,
): BreakGlassReading {
  const latestAllowed = now.getTime() + maxHours * 3_600_000;
  const refusals: string[] = [];
  let active: BreakGlassTicket | undefined;
  let present = false;
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(BREAK_GLASS_ANNOTATION_PREFIX)) continue;
    present = true;
    const ticket = key.slice(BREAK_GLASS_ANNOTATION_PREFIX.length);
    const expires = RFC_3339.test(value) ? new Date(value) : undefined;
    if (expires === undefined || Number.isNaN(expires.getTime())) {
      refusals.push(
        `break-glass ticket ${ticket} has no valid RFC 3339 expiry (got ${JSON.stringify(value)})`,
      );
    } else if (expires.getTime() <= now.getTime()) {
      refusals.push(`break-glass ticket ${ticket} expired at ${expires.toISOString()}`);
    } else if (expires.getTime() > latestAllowed) {
      refusals.push(
        `break-glass ticket ${ticket} expires at ${expires.toISOString()}, more than the ${maxHours} hours ahead that spec.breakGlassMaxHours allows`,
      );
    } else if (!active || expires > active.expires) {
      active = { ticket, expires };
    }
  }
  return { present, active, refusals };
}
