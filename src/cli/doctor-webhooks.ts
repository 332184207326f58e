import { CompiledImagePolicy } from '../policy';
import {
  IMAGE_VOLUME_MATCH_CONDITIONS,
  IMAGE_VOLUME_WEBHOOK_NAME,
  MUTATING_WEBHOOK_RULES,
  VALIDATING_WEBHOOK_RULES,
  WEBHOOK_CONFIGURATION_LABELS,
} from './apiserver-files';

/**
 * Webhook configurations as doctor reads them from the API (or from static manifests): only the
 * fields admission uses to decide whether to call a webhook and what happens when the call fails.
 * Everything else of the object is left alone; a field of the wrong shape reads as absent.
 */
export type WebhookKind = 'validating' | 'mutating';

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly { key: string; operator: string; values: readonly string[] }[];
}

export interface WebhookRule {
  readonly apiGroups: readonly string[];
  readonly apiVersions: readonly string[];
  readonly operations: readonly string[];
  readonly resources: readonly string[];
}

export interface RegisteredWebhook {
  readonly kind: WebhookKind;
  readonly configuration: string;
  readonly name: string;
  readonly target: string;
  readonly rules: readonly WebhookRule[];
  /** Absent matches every namespace (and object), as in the API. */
  readonly namespaceSelector?: LabelSelector;
  readonly objectSelector?: LabelSelector;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  readonly sideEffects?: string;
  readonly admissionReviewVersions: readonly string[];
  readonly matchConditions: readonly { name: string; expression: string }[];
  readonly reinvocationPolicy?: string;
}

/** How to tell the bouncer's webhooks from others: our names and label, a Service, a URL. */
export interface BouncerTarget {
  /** `namespace/name` of the bouncer's Service. */
  readonly service?: string;
  /** The start of the bouncer's URL, `https://host:port`. */
  readonly url?: string;
}

/**
 * At most this many configurations of a kind, and webhooks in each, are read: more than any cluster
 * registers, and a bound on what a hostile list can make doctor do.
 */
export const MAX_CONFIGURATIONS = 1000;
const MAX_WEBHOOKS = 100;

type Entry = Record<string, unknown>;
const isEntry = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function selector(value: unknown): LabelSelector | undefined {
  if (!isEntry(value)) return undefined;
  const matchLabels = isEntry(value.matchLabels)
    ? Object.fromEntries(
        Object.entries(value.matchLabels).filter((e): e is [string, string] => typeof e[1] === 'string'),
      )
    : {};
  const matchExpressions = (Array.isArray(value.matchExpressions) ? value.matchExpressions : [])
    .filter(isEntry)
    .map((e) => ({ key: text(e.key) ?? '', operator: text(e.operator) ?? '', values: strings(e.values) }));
  return { matchLabels, matchExpressions };
}

function targetOf(clientConfig: unknown): string {
  if (!isEntry(clientConfig)) return '';
  const url = text(clientConfig.url);
  if (url) return url;
  const service = isEntry(clientConfig.service) ? clientConfig.service : {};
  const port = typeof service.port === 'number' ? service.port : 443;
  return `service ${text(service.namespace) ?? ''}/${text(service.name) ?? ''}:${port}${text(service.path) ?? ''}`;
}

/** The webhooks of a list answer (or of static manifests), each as doctor reads it. */
export function readWebhooks(
  kind: WebhookKind,
  items: readonly unknown[],
): (RegisteredWebhook & { labels: Record<string, string> })[] {
  return items
    .slice(0, MAX_CONFIGURATIONS)
    .filter(isEntry)
    .flatMap((item) => {
      const metadata = isEntry(item.metadata) ? item.metadata : {};
      const labels = isEntry(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
      const webhooks = Array.isArray(item.webhooks) ? item.webhooks.slice(0, MAX_WEBHOOKS) : [];
      return webhooks.filter(isEntry).map((webhook) => ({
        kind,
        labels,
        configuration: text(metadata.name) ?? '',
        name: text(webhook.name) ?? '',
        target: targetOf(webhook.clientConfig),
        rules: (Array.isArray(webhook.rules) ? webhook.rules : []).filter(isEntry).map((rule) => ({
          apiGroups: strings(rule.apiGroups),
          apiVersions: strings(rule.apiVersions),
          operations: strings(rule.operations),
          resources: strings(rule.resources),
        })),
        namespaceSelector: selector(webhook.namespaceSelector),
        objectSelector: selector(webhook.objectSelector),
        // The API's defaults for admissionregistration.k8s.io/v1.
        failurePolicy: text(webhook.failurePolicy) ?? 'Fail',
        timeoutSeconds: typeof webhook.timeoutSeconds === 'number' ? webhook.timeoutSeconds : 10,
        sideEffects: text(webhook.sideEffects),
        admissionReviewVersions: strings(webhook.admissionReviewVersions),
        matchConditions: (Array.isArray(webhook.matchConditions) ? webhook.matchConditions : [])
          .filter(isEntry)
          .map((c) => ({ name: text(c.name) ?? '', expression: text(c.expression) ?? '' })),
        reinvocationPolicy: kind === 'mutating' ? (text(webhook.reinvocationPolicy) ?? 'Never') : undefined,
      }));
    });
}

/** Whether a webhook calls the bouncer: one of our names or our label, or the given Service or URL. */
export function pointsAtBouncer(
  webhook: RegisteredWebhook & { labels: Record<string, string> },
  target: BouncerTarget,
): boolean {
  if (target.url && webhook.target.startsWith(target.url)) return true;
  if (target.service && webhook.target.startsWith(`service ${target.service}:`)) return true;
  const [label, value] = Object.entries(WEBHOOK_CONFIGURATION_LABELS)[0];
  return webhook.name.endsWith('.kube-image-bouncer.io') || webhook.labels[label] === value;
}

/** Label selector semantics of apimachinery's labels.Selector, for the operators a selector may use. */
export function selects(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels)) if (labels[key] !== value) return false;
  return selector.matchExpressions.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        return has && values.includes(labels[key]);
      case 'NotIn':
        return !has || !values.includes(labels[key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** One request an admission path makes: `CREATE apps/deployments`, `UPDATE pods/ephemeralcontainers`. */
export interface AdmissionRequestShape {
  readonly group: string;
  readonly resource: string;
  readonly operation: 'CREATE' | 'UPDATE';
}

const matchesWord = (list: readonly string[], word: string): boolean =>
  list.includes('*') || list.includes(word);

/** Whether a rule sends this request, with the API wildcards: a star alone, star-slash-star, pods-slash-star. */
export function ruleCovers(rule: WebhookRule, request: AdmissionRequestShape): boolean {
  if (!matchesWord(rule.apiGroups, request.group) || !matchesWord(rule.operations, request.operation))
    return false;
  if (!(rule.apiVersions.includes('*') || rule.apiVersions.includes('v1'))) return false;
  const [resource, sub] = request.resource.split('/');
  return rule.resources.some((pattern) => {
    if (pattern === '*/*') return true;
    const [r, s] = pattern.split('/');
    if (sub === undefined) return s === undefined && (r === '*' || r === resource);
    return (r === '*' || r === resource) && (s === '*' || s === sub);
  });
}

export const describeRequest = ({ group, resource, operation }: AdmissionRequestShape): string =>
  `${operation} ${group === '' ? '' : `${group}/`}${resource}`;

/**
 * Why a webhook is not called for a request in a namespace (with its labels) on an object with the
 * canary's labels; undefined when the apiserver would call it. matchConditions are CEL the apiserver
 * evaluates: they are named as a possible reason, not evaluated here.
 */
export function whyNotCalled(
  webhook: RegisteredWebhook,
  request: AdmissionRequestShape,
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>>,
  objectLabels: Readonly<Record<string, string>>,
): string | undefined {
  if (!webhook.rules.some((rule) => ruleCovers(rule, request)))
    return `no rule of ${webhook.name} covers ${describeRequest(request)}`;
  if (!selects(webhook.namespaceSelector, namespaceLabels))
    return `the namespaceSelector of ${webhook.name} exempts namespace ${namespace}`;
  if (!selects(webhook.objectSelector, objectLabels))
    return `the objectSelector of ${webhook.name} exempts the canary`;
  return undefined;
}

/** A lint finding: a setting that lets requests through, or risks it. */
export interface WebhookFinding {
  readonly webhook: string;
  readonly configuration: string;
  readonly check: string;
  readonly message: string;
}

const RESOURCE_REQUESTS = (rules: typeof VALIDATING_WEBHOOK_RULES): AdmissionRequestShape[] =>
  rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) =>
        rule.operations.map((operation) => ({
          group,
          resource,
          operation: operation as 'CREATE' | 'UPDATE',
        })),
      ),
    ),
  );

const listed = (names: readonly string[], most = 5): string =>
  names.length <= most
    ? names.join(', ')
    : `${names.slice(0, most).join(', ')} and ${names.length - most} more`;

/**
 * What the bouncer's registration gets wrong or leaves open, judged against what the bouncer reads
 * (VALIDATING_WEBHOOK_RULES, MUTATING_WEBHOOK_RULES) and the policy (its registry budget, its exempt
 * namespaces). `namespaces` are the cluster's namespaces with their labels.
 */
export function lintWebhooks(
  webhooks: readonly RegisteredWebhook[],
  policy: CompiledImagePolicy,
  namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[],
): WebhookFinding[] {
  const findings: WebhookFinding[] = [];
  const add = (webhook: RegisteredWebhook, check: string, message: string): void => {
    findings.push({ webhook: webhook.name, configuration: webhook.configuration, check, message });
  };
  for (const webhook of webhooks) {
    if (webhook.failurePolicy !== 'Fail')
      add(
        webhook,
        'failurePolicy',
        `failurePolicy ${webhook.failurePolicy}: when the bouncer cannot answer, the API admits the request`,
      );
    if (webhook.timeoutSeconds * 1000 <= policy.registryTimeoutMs)
      add(
        webhook,
        'timeoutSeconds',
        `timeoutSeconds ${webhook.timeoutSeconds} is not above the policy's registryTimeoutSeconds (${policy.registryTimeoutMs / 1000}): the apiserver gives up before the bouncer's registry budget is spent`,
      );
    if (webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun')
      add(
        webhook,
        'sideEffects',
        `sideEffects ${webhook.sideEffects ?? '(unset)'}: dry runs are refused without calling the bouncer; use None`,
      );
    if (!webhook.admissionReviewVersions.some((version) => version === 'v1' || version === 'v1beta1'))
      add(
        webhook,
        'admissionReviewVersions',
        `admissionReviewVersions [${webhook.admissionReviewVersions.join(', ')}] names neither v1 nor v1beta1, which the bouncer speaks`,
      );
    if (webhook.kind === 'mutating' && webhook.reinvocationPolicy !== 'IfNeeded')
      add(
        webhook,
        'reinvocationPolicy',
        `reinvocationPolicy ${webhook.reinvocationPolicy}: an image a later mutating webhook adds is not pinned; use IfNeeded`,
      );
    const ours =
      webhook.name === IMAGE_VOLUME_WEBHOOK_NAME
        ? IMAGE_VOLUME_MATCH_CONDITIONS.map((c) => c.expression)
        : [];
    const conditions = webhook.matchConditions.filter((c) => !ours.includes(c.expression));
    if (conditions.length > 0)
      add(
        webhook,
        'matchConditions',
        `matchConditions ${listed(conditions.map((c) => c.name))} may keep requests from the bouncer`,
      );
    const exempt = namespaces
      .filter(({ labels }) => !selects(webhook.namespaceSelector, labels))
      .map(({ name }) => name)
      .filter((name) => !policy.exemptNamespaces.some((glob) => glob.matches(name)));
    if (exempt.length > 0)
      add(
        webhook,
        'namespaceSelector',
        `the namespaceSelector exempts ${exempt.length} namespace${exempt.length === 1 ? '' : 's'} the policy does not: ${listed(exempt)}`,
      );
    if (
      webhook.objectSelector &&
      (Object.keys(webhook.objectSelector.matchLabels).length > 0 ||
        webhook.objectSelector.matchExpressions.length > 0)
    )
      add(
        webhook,
        'objectSelector',
        'an objectSelector: whoever sets the labels it reads decides whether the bouncer is asked',
      );
  }
  // Each webhook on its own: another that covers what this one misses may be scoped elsewhere. The
  // image-volume webhook is meant to see pod creations alone.
  for (const webhook of webhooks) {
    if (webhook.name === IMAGE_VOLUME_WEBHOOK_NAME) continue;
    const rules = webhook.kind === 'validating' ? VALIDATING_WEBHOOK_RULES : MUTATING_WEBHOOK_RULES;
    const missing = RESOURCE_REQUESTS(rules).filter(
      (request) => !webhook.rules.some((rule) => ruleCovers(rule, request)),
    );
    if (missing.length > 0)
      add(webhook, 'rules', `not sent ${listed(missing.map(describeRequest), 20)}, which the bouncer judges`);
  }
  return findings;
}
