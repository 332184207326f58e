import { MalformedPodSpecError, imagePathInSpec, locatePodSpec, podSpecReviewRequest } from '../admission';
import {
  ImagePolicyService,
  describeTicket,
  ContainerList,
  ImageUnderReview,
  ImageVerdict,
  PolicyDecision,
  RuleViolation,
  ReviewOutcome,
  reviewOutcome,
  pinnedImage,
  type DigestPinningService,
  type ImagePolicyRequest,
} from '../policy';
import { CommandInputError } from './command-input.error';
import { ManifestDocument, ManifestInput, ManifestPath } from './manifest-source';
import type { LocalAttestation } from '../verification';

/** The namespace the apiserver would put an object in when neither it nor `--namespace` says. */
export const DEFAULT_NAMESPACE = 'default';

/** A Kubernetes object in a manifest: a document, or an item of a `kind: List` document. */
export interface ManifestObject {
  readonly document: ManifestDocument;
  /** Index in the List's `items`, for an object that is one. */
  readonly item?: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

/** Where a pod spec holds an image: a container of one of its lists, or an image volume. */
export interface ImagePlace {
  /** The container's or the volume's name. */
  readonly name: string;
  readonly list: ContainerList | 'volumes';
  readonly index: number;
}

/** A warn- or enforce-mode violation of one image, where the webhook would report it. */
export interface ManifestFinding {
  readonly object: ManifestObject;
  readonly verdict: ImageVerdict;
  readonly violation: RuleViolation;
  readonly place: ImagePlace;
  readonly line: number;
  readonly column: number;
  /** The break-glass ticket that lets the pod through despite an enforced violation. */
  readonly breakGlass?: string;
  /** Why the pod's break-glass tickets do not let an enforced violation through. */
  readonly breakGlassRefused?: string;
}

/** An image a `spec.exceptions` entry let through every rule, where the webhook would have judged it. */
export interface ManifestException {
  readonly object: ManifestObject;
  readonly verdict: ImageVerdict;
  readonly place: ImagePlace;
  readonly line: number;
  readonly column: number;
  readonly ticket: string;
  readonly expires: Date;
}

/** One pod spec judged as one admission review. */
export interface ManifestReview {
  readonly object: ManifestObject;
  /** The engine's whole decision: every image's verdict, audit-mode violations included. */
  readonly decision: PolicyDecision;
  readonly outcome: ReviewOutcome;
  /** Where the object starts. */
  readonly line: number;
  readonly findings: readonly ManifestFinding[];
  readonly excepted: readonly ManifestException[];
  /** Checks of this pod spec the webhook would make with a registry and this offline check did not. */
  readonly registrySkipped: number;
}

/** An object whose kind has no pod spec at a place the webhook knows: nothing of it is checked. */
export interface SkippedObject {
  readonly object: ManifestObject;
  readonly line: number;
}

export interface ManifestCheck {
  readonly podSpecs: number;
  readonly denied: number;
  readonly warned: number;
  readonly allowed: number;
  readonly findings: readonly ManifestFinding[];
  readonly excepted: readonly ManifestException[];
  readonly reviews: readonly ManifestReview[];
  readonly skipped: readonly SkippedObject[];
  /**
   * What an offline check could not do that the webhook would: each registry-aware rule, with how
   * many images it skipped, and how many images digest pinning would have resolved (they are judged
   * as pinned, as the validating webhook sees them after /mutate).
   */
  readonly registrySkipped: { readonly rules: readonly RegistrySkip[]; readonly pinning: number };
}

export interface RegistrySkip {
  readonly rule: string;
  readonly check: string;
  readonly images: number;
}

/** How `check` treats what needs a registry: skipped and said (the default), or asked like the server. */
export interface CheckOptions {
  readonly online: boolean;
  /** Pins images as /mutate would, before they are judged, when online. */
  readonly pinning?: DigestPinningService;
  /** Attestation files verifyAttestations rules read instead of the registry (policy tests). */
  readonly attestations?: readonly LocalAttestation[];
}

/**
 * The digest an offline check gives an image /mutate would pin: it cannot ask the registry for the
 * real one, and a rule that only needs to know that there is one (requireDigest) then decides as it
 * would at admission. The report counts these images as skipped registry work.
 */
const DIGEST_NOT_LOOKED_UP = `sha256:${'0'.repeat(64)}`;

const TALLIED: Record<ReviewOutcome, 'denied' | 'warned' | 'allowed'> = {
  deny: 'denied',
  warn: 'warned',
  allow: 'allowed',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The Kubernetes objects of a document: itself, or a List's items. Anything else is not a manifest. */
function objectsOf(document: ManifestDocument): { value: Record<string, unknown>; item?: number }[] {
  const { value } = document;
  if (!isObject(value)) return [];
  // `kubectl get -o yaml` prints several objects as a v1 List; kubectl accepts any `*List` kind.
  if (text(value.kind)?.endsWith('List') && Array.isArray(value.items))
    return value.items.flatMap((item: unknown, index) =>
      isObject(item) ? [{ value: item, item: index }] : [],
    );
  return [{ value }];
}

/** The kind as a report names it: `ConfigMap` in the core group, `networking.k8s.io/Ingress` elsewhere. */
export function kindLabel({ apiVersion, kind }: Pick<ManifestObject, 'apiVersion' | 'kind'>): string {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return group === '' ? kind : `${group}/${kind}`;
}

/**
 * Finds every pod spec in the manifests exactly as the webhook finds them in AdmissionReviews, and
 * asks the engine about each one as one review, with the pod's break-glass annotations. Audit-mode
 * violations are left out, as they are at admission.
 */
export async function checkManifests(
  engine: ImagePolicyService,
  documents: readonly ManifestDocument[],
  fallbackNamespace: string,
  options: CheckOptions = { online: false },
): Promise<ManifestCheck> {
  const registryRules = new Map<string, RegistrySkip>();
  let pinningSkipped = 0;
  const findings: ManifestFinding[] = [];
  const excepted: ManifestException[] = [];
  const reviews: ManifestReview[] = [];
  const skipped: SkippedObject[] = [];
  const problems: string[] = [];
  const counts = { podSpecs: 0, denied: 0, warned: 0, allowed: 0 };

  for (const document of documents) {
    for (const { value, item } of objectsOf(document)) {
      const apiVersion = text(value.apiVersion);
      const kind = text(value.kind);
      if (apiVersion === undefined || kind === undefined) continue;
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
      const location = locatePodSpec(group, kind);

      const metadata = isObject(value.metadata) ? value.metadata : {};
      const name = text(metadata.name) ?? text(metadata.generateName) ?? '';
      const object: ManifestObject = {
        document,
        item,
        apiVersion,
        kind,
        name,
        namespace: text(metadata.namespace) || fallbackNamespace,
      };
      const at = (path: ManifestPath) =>
        document.locate([...(item === undefined ? [] : ['items', item]), ...path]);
      if (!location) {
        skipped.push({ object, line: at([]).line });
        continue;
      }

      let request;
      try {
        request = podSpecReviewRequest({
          object: value,
          location,
          objectName: name ? `${kind}/${name}` : kind,
          namespace: object.namespace,
        });
      } catch (error) {
        if (!(error instanceof MalformedPodSpecError)) throw error;
        problems.push(`${document.file}:${at([]).line}: ${error.message}`);
        continue;
      }
      const pod = group === '' && kind === 'Pod';
      let registrySkippedHere = 0;
      // What the judged images were before an offline check gave them a digest, to report them as written.
      let asWritten = new Map<ImageUnderReview, ImageUnderReview>();
      if (options.pinning?.pinsKind(pod ? 'pod' : 'pod-controller')) {
        if (options.online) request = await pinnedAsAtAdmission(options.pinning, request);
        else {
          const assumed = assumedPinned(options.pinning, request);
          asWritten = assumed.asWritten;
          request = assumed.request;
          registrySkippedHere += asWritten.size;
        }
      }
      const explanation = await engine.explain(request, {
        registry: options.online ? 'online' : 'offline',
        ...(options.attestations ? { attestations: options.attestations } : {}),
      });
      for (const { rules } of explanation.images)
        for (const { rule, skipped: skip } of rules)
          if (skip?.because === 'needs-registry') {
            const known = registryRules.get(rule.name) ?? {
              rule: rule.name,
              check: rule.rule.key,
              images: 0,
            };
            registryRules.set(rule.name, { ...known, images: known.images + 1 });
            registrySkippedHere++;
          }
      pinningSkipped += asWritten.size;
      const decision =
        asWritten.size === 0
          ? explanation.decision
          : {
              ...explanation.decision,
              verdicts: explanation.decision.verdicts.map((verdict) => {
                const written = asWritten.get(verdict.subject);
                return written ? { ...verdict, subject: written } : verdict;
              }),
            };
      const outcome = reviewOutcome(decision);
      counts.podSpecs++;
      counts[TALLIED[outcome]]++;

      const podFindings: ManifestFinding[] = [];
      const podExcepted: ManifestException[] = [];
      decision.verdicts.forEach((verdict) => {
        const place = imagePlaceOf(verdict.subject);
        const position = at([...location.specPath, ...imagePathInSpec(verdict.subject)!]);
        if (verdict.exception)
          podExcepted.push({
            object,
            verdict,
            place,
            ...position,
            ticket: verdict.exception.ticket,
            expires: verdict.exception.expires,
          });
        for (const violation of verdict.violations) {
          if (violation.enforcement === 'audit') continue;
          podFindings.push({
            object,
            verdict,
            violation,
            place,
            ...position,
            ...(decision.breakGlass && violation.enforcement === 'enforce'
              ? {
                  breakGlass: describeTicket(decision.breakGlass),
                }
              : {}),
            ...(!decision.allowed &&
            violation.enforcement === 'enforce' &&
            decision.breakGlassRefusals.length > 0
              ? { breakGlassRefused: decision.breakGlassRefusals.join('; ') }
              : {}),
          });
        }
      });
      // The webhook lists containers before initContainers and volumes; a report reads best in file order.
      const inFileOrder = (a: { line: number; column: number }, b: { line: number; column: number }) =>
        a.line - b.line || a.column - b.column;
      podFindings.sort(inFileOrder);
      podExcepted.sort(inFileOrder);
      findings.push(...podFindings);
      excepted.push(...podExcepted);
      reviews.push({
        object,
        decision,
        outcome,
        line: at([]).line,
        findings: podFindings,
        excepted: podExcepted,
        registrySkipped: registrySkippedHere,
      });
    }
  }
  if (problems.length > 0) throw new CommandInputError('cannot read the manifests:', problems);
  return {
    ...counts,
    findings,
    excepted,
    reviews,
    skipped,
    registrySkipped: { rules: [...registryRules.values()], pinning: pinningSkipped },
  };
}

/** The request as the validating webhook would see it once /mutate has pinned what it could. */
async function pinnedAsAtAdmission(
  pinning: DigestPinningService,
  request: ImagePolicyRequest,
): Promise<ImagePolicyRequest> {
  const { pins } = await pinning.pin(request);
  const pinned = new Map(
    pins.flatMap(({ subject, outcome }) => ('pinned' in outcome ? [[subject, outcome.pinned]] : [])),
  );
  return {
    ...request,
    images: request.images.map((subject) => {
      const image = pinned.get(subject);
      return image === undefined ? subject : { ...subject, image };
    }),
  };
}

/**
 * The request as the validating webhook would judge it after /mutate, offline: each image pinning
 * would resolve gets a digest that stands for the one the registry would give (see
 * DIGEST_NOT_LOOKED_UP), and is remembered as written.
 */
function assumedPinned(
  pinning: DigestPinningService,
  request: ImagePolicyRequest,
): { request: ImagePolicyRequest; asWritten: Map<ImageUnderReview, ImageUnderReview> } {
  const asWritten = new Map<ImageUnderReview, ImageUnderReview>();
  const pinned = new Map(
    pinning
      .wouldPin(request)
      .map(({ subject, reference }) => [
        subject,
        pinnedImage(subject.image, reference, DIGEST_NOT_LOOKED_UP),
      ]),
  );
  const images = request.images.map((subject) => {
    const image = pinned.get(subject);
    if (image === undefined) return subject;
    const judged = { ...subject, image };
    asWritten.set(judged, subject);
    return judged;
  });
  return { request: { ...request, images }, asWritten };
}

/**
 * A check of nothing must not pass: a `helm template` that failed pipes an empty stdin, and a
 * mistyped directory may hold no manifests. Says which input held none, and why when it can.
 */
export function nothingToCheck(input: ManifestInput): CommandInputError {
  const described = input.sources.map(({ input: given, files, documents }) => {
    if (given === '-')
      return documents === 0 ? '-f - (stdin is empty: did the command piping into it fail?)' : '-f -';
    if (files === 0) return `-f ${given} (no .yaml, .yml or .json files in it)`;
    return documents === 0 ? `-f ${given} (no YAML or JSON documents)` : `-f ${given}`;
  });
  return new CommandInputError(`nothing to check: no Kubernetes objects in ${described.join(', ')}`);
}

/** Where the webhook's pod-spec reader found an image; `check` reads only pod specs, so it has one. */
function imagePlaceOf(subject: ImageUnderReview): ImagePlace {
  if (subject.volume) return { name: subject.volume.name, list: 'volumes', index: subject.volume.index };
  const { name, list, index } = subject.container!;
  return { name, list, index };
}
