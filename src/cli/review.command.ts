import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { text } from 'node:stream/consumers';
import { InvalidConfigError, unreadableFileProblem } from '../config';
import { DEFAULT_NAMESPACE } from './manifest-check';
import { readManifests } from './manifest-source';
import {
  ADMISSION_REVIEW_VERSIONS,
  AdmissionReviewVersion,
  BuiltReview,
  REVIEW_KINDS,
  ReviewKind,
  podOf,
  reviewsOf,
} from './review-request';
import { CommandInputError } from './command-input.error';
import { EXIT_DENIED } from './check.command';

interface ReviewFlags {
  filename: string[];
  namespace: string;
  kind?: ReviewKind;
  admissionReviewVersion: AdmissionReviewVersion;
  send?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
}

/** How long a sent review may take: the apiserver's own webhook timeout is at most 30 s. */
const SEND_TIMEOUT_MS = 30_000;

/** The paths ImagePolicyWebhook is served on; any other path takes an AdmissionReview. */
const IMAGE_REVIEW_PATHS = new Set(['/image_policy', '/policy']);

const pretty = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function readOption(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  const problem = unreadableFileProblem(path);
  if (problem) throw new InvalidConfigError([`${flag} ${problem}`]);
  return readFileSync(path);
}

interface ReviewAnswer {
  readonly allowed: boolean;
  readonly message?: string;
  readonly body: unknown;
}

/** POSTs one review as the apiserver would, and reads the decision out of the answer. */
function send(review: BuiltReview, url: URL, flags: ReviewFlags): Promise<ReviewAnswer> {
  const body = JSON.stringify(review.body);
  const tls = {
    ca: readOption('--cacert', flags.cacert),
    cert: readOption('--cert', flags.cert),
    key: readOption('--key', flags.key),
    rejectUnauthorized: !flags.insecure,
  };
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: 'POST',
        ...tls,
        timeout: SEND_TIMEOUT_MS,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (response) => {
        text(response).then((answer) => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(answer);
          } catch {
            parsed = undefined;
          }
          if (response.statusCode !== 200 || typeof parsed !== 'object' || parsed === null)
            return reject(
              new CommandInputError(
                `${url.href} answered ${response.statusCode} to the review of ${review.subject}: ${answer.slice(0, 500)}`,
              ),
            );
          const { response: admission, status } = parsed as {
            response?: { allowed?: boolean; status?: { message?: string } };
            status?: { allowed?: boolean; reason?: string };
          };
          const decision = admission ?? status;
          resolve({
            allowed: decision?.allowed === true,
            message: admission?.status?.message ?? status?.reason,
            body: parsed,
          });
        }, reject);
      },
    );
    sent.on('timeout', () => sent.destroy(new Error(`no answer within ${SEND_TIMEOUT_MS / 1000} s`)));
    sent.on('error', (error) =>
      reject(
        new CommandInputError(`cannot send the review of ${review.subject} to ${url.href}: ${error.message}`),
      ),
    );
    sent.end(body);
  });
}

async function review(images: string[], flags: ReviewFlags): Promise<void> {
  if (images.length === 0 && flags.filename.length === 0)
    throw new InvalidConfigError(['review needs IMAGE... or -f FILE, DIRECTORY or - (stdin)']);
  let url: URL | undefined;
  if (flags.send !== undefined) {
    try {
      url = new URL(flags.send);
    } catch {
      throw new InvalidConfigError([
        `--send must be a URL such as https://127.0.0.1:1323/validate (got ${JSON.stringify(flags.send)})`,
      ]);
    }
    if (url.protocol !== 'https:')
      throw new InvalidConfigError([
        `--send must be an https URL: reviews are served over TLS only (got ${JSON.stringify(flags.send)})`,
      ]);
  }
  if ((flags.cert === undefined) !== (flags.key === undefined))
    throw new InvalidConfigError(['--cert and --key must be given together']);
  const kind =
    flags.kind ?? (url && IMAGE_REVIEW_PATHS.has(url.pathname) ? 'ImageReview' : 'AdmissionReview');
  const stdin = flags.filename.includes('-') ? await text(process.stdin) : '';
  const documents = [
    ...(images.length > 0
      ? [
          {
            file: 'IMAGE',
            index: 1,
            value: podOf(images, flags.namespace),
            locate: () => ({ line: 1, column: 1 }),
          },
        ]
      : []),
    ...(flags.filename.length > 0 ? readManifests(flags.filename, () => stdin).documents : []),
  ];
  const { reviews, skipped } = reviewsOf(documents, {
    kind,
    apiVersion: flags.admissionReviewVersion,
    namespace: flags.namespace,
  });
  for (const object of skipped)
    process.stderr.write(
      `kube-image-bouncer: not reviewed, no pod spec (the webhook allows it unread): ${object}\n`,
    );
  if (reviews.length === 0)
    throw new CommandInputError('nothing to review: no object with a pod spec in the manifests given');
  if (!url) {
    for (const built of reviews) process.stdout.write(pretty(built.body));
    return;
  }
  let denied = false;
  for (const built of reviews) {
    const answer = await send(built, url, flags);
    process.stdout.write(pretty(answer.body));
    process.stderr.write(
      `${built.subject}: ${answer.allowed ? 'allowed' : 'denied'}${answer.message ? `: ${answer.message}` : ''}\n`,
    );
    denied ||= !answer.allowed;
  }
  if (denied) process.exitCode = EXIT_DENIED;
}

export function reviewCommand(): Command {
  return new Command('review')
    .description(
      'print the AdmissionReview (or ImageReview) the kube-apiserver would send for images or manifests, or send it to a bouncer and print the answer',
    )
    .argument('[images...]', 'images of one pod, as `kubectl run` would create it')
    .option(
      '-f, --filename <path>',
      'manifest file, directory (searched recursively for .yaml, .yml and .json) or - for stdin; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '-n, --namespace <namespace>',
      'namespace for the pod of IMAGEs, and for objects whose metadata names none',
      DEFAULT_NAMESPACE,
    )
    .addOption(
      new Option(
        '--kind <kind>',
        'the review to make; default: ImageReview for --send to /image_policy or /policy, else AdmissionReview',
      ).choices(REVIEW_KINDS),
    )
    .addOption(
      new Option('--admission-review-version <version>', 'the AdmissionReview apiVersion')
        .choices(ADMISSION_REVIEW_VERSIONS)
        .default('admission.k8s.io/v1'),
    )
    .option(
      '--send <url>',
      'POST each review to this https URL (such as https://127.0.0.1:1323/validate) and print the answers',
    )
    .option('--cacert <file>', "with --send: the CA to check the bouncer against (setup's ca.crt)")
    .option(
      '--cert <file>',
      'with --send: a client certificate, for a bouncer that requires one (--client-ca)',
    )
    .option('--key <file>', "with --send: the client certificate's key")
    .option(
      '-k, --insecure',
      "with --send: do not check the bouncer's certificate (the self-signed one `serve` makes alone)",
    )
    .addHelpText(
      'after',
      `
Each object of the manifests with a pod spec (the kinds the webhook reads, also inside a kind: List)
becomes one review of its CREATE, as the apiserver would send it; objects of other kinds are named
on stderr and left out. IMAGEs become one Pod named "review" with a container for each. The request
uid is derived from the object, so a review prints the same on every run.

Without --send, the reviews are printed, one JSON document each, ready for curl:
  kube-image-bouncer review nginx | curl -sk https://127.0.0.1:1323/validate -H 'Content-Type: application/json' -d @-

With --send, each is POSTed and the bouncer's answer printed, with one line per review on stderr
saying allowed or denied, and why. Exit status: 0 when every review is allowed, 1 when one is
denied, 2 when an input cannot be read or a review cannot be sent or is not answered with a review.

Examples:
  kube-image-bouncer review nginx:1.25 busybox --send https://127.0.0.1:1323/validate -k
  kube-image-bouncer review -f deploy/ --send https://bouncer.example.com:1323/validate \\
    --cacert pki/ca.crt --cert pki/apiserver-client.crt --key pki/apiserver-client.key
  kube-image-bouncer review nginx --send https://127.0.0.1:1323/image_policy -k`,
    )
    .action(review);
}
