import { Logger } from '@nestjs/common';
import { AdmissionController } from '../src/admission/admission.controller';
import { AdmissionReviewService } from '../src/admission/admission-review.service';
import { AdmissionReviewDto } from '../src/admission/dto/admission-review.dto';
import { ReviewAuditService } from '../src/audit/review-audit.service';
import { ReviewEnvelopePipe } from '../src/http/review-envelope.pipe';
import { DigestResolver, RegistryClient } from '../src/registry';
import { engineFor, noLedger } from '../src/testing/policy-engine';
import { MetricsService } from '../src/metrics/metrics.service';
import { DEFAULT_POLICY_SOURCE, DEFAULT_POLICY_YAML } from '../src/policy/policy-file/default-policy';
import { ImagePolicyCompiler } from '../src/policy/policy-file/image-policy.compiler';
import { PolicyStore } from '../src/policy/policy-file/policy-store.service';
import { IMAGE_RULE_TYPES } from '../src/policy/rules';
import { TlsMaterialService } from '../src/tls/tls-material.service';

export interface DecisionCost {
  /** JSON.parse, envelope validation, pod spec reading, policy decision, audit and metrics, reply serialization. */
  readonly perReviewUs: number;
  /** The same without JSON.parse and reply serialization: what the bouncer adds to any JSON server. */
  readonly decisionOnlyUs: number;
}

/**
 * What one review costs the bouncer in process, with everything a request does except HTTP and
 * TLS: the same pipe, controller, service and engine objects the server wires, with the default
 * policy and logging filtered out as at --log-level warn.
 */
export async function measureDecisionCost(body: string, iterations = 20_000): Promise<DecisionCost> {
  Logger.overrideLogger(false);
  const policy = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(
    DEFAULT_POLICY_YAML,
    DEFAULT_POLICY_SOURCE,
  );
  const store = { current: policy, onReload: () => undefined } as unknown as PolicyStore;
  const tls = {
    current: { notAfter: new Date() },
    onRotation: () => undefined,
  } as unknown as TlsMaterialService;
  const registryClient = new RegistryClient();
  const ledger = noLedger(registryClient);
  const engine = engineFor(policy, registryClient, ledger);
  const metrics = new MetricsService(
    store,
    tls,
    registryClient,
    new DigestResolver(registryClient),
    engine,
    ledger,
  );
  const controller = new AdmissionController(
    new AdmissionReviewService(engine),
    new ReviewAuditService(metrics),
  );
  // Per request the pipe reads no controllers; those are checked once, at boot.
  const pipe = new ReviewEnvelopePipe(
    { getControllers: () => [] } as never,
    { getAllMethodNames: () => [] } as never,
  );
  const metadata = { type: 'body' as const, metatype: AdmissionReviewDto };

  const full = async (): Promise<string> =>
    JSON.stringify(await controller.review(pipe.transform(JSON.parse(body), metadata) as AdmissionReviewDto));
  const parsed: unknown = JSON.parse(body);
  const decisionOnly = (): Promise<unknown> =>
    controller.review(pipe.transform(parsed, metadata) as AdmissionReviewDto);

  const time = async (run: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < iterations; i++) await run();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await run();
    return Number(process.hrtime.bigint() - start) / 1e3 / iterations;
  };
  return { perReviewUs: await time(full), decisionOnlyUs: await time(decisionOnly) };
}
