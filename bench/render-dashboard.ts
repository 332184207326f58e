/**
 * `npm run dashboard`: renders deploy/grafana/dashboard.svg, the panels of
 * deploy/grafana/kube-image-bouncer.json computed from real metrics. A bouncer (2 workers, real
 * TLS, a policy with an enforced and a warn rule) serves a scripted two minutes: rising traffic,
 * denials, warnings, bad requests, a policy edit, a refused edit, a break-glass burst, and a
 * certificate rotation. /metrics is scraped every few seconds and each panel's query is evaluated
 * over the scrapes as Prometheus would (rates, sums by label, histogram quantiles).
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createCertificateAuthority, issueCertificate } from '../src/tls/certificate-issuer';
import { loopbackListenerArgs } from '../test/support/bouncer-process';
import { Sample, parsePrometheusText } from '../test/support/prometheus-text';
import { SecretVolume } from '../test/support/secret-volume';
import { LineSeries, linePanelSvg, statPanelSvg } from './chart';
import { numberSetting } from './settings';

const ROOT = join(__dirname, '..', '..');
const SECONDS = numberSetting('DASHBOARD_SECONDS', 120);
const SCRAPE_EVERY_S = 3;
const port = 19500 + Math.floor(Math.random() * 400);
const healthPort = port + 1;

const POLICY = (extra: string): string => `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: dashboard}
spec:
  rules:
    - {name: no-latest, disallowedTags: [latest]}
    - {name: trusted-sources, allowedRepositories: ["registry.example.com/**", nginx], enforcement: warn}
${extra}`;

/** Deterministic, so the picture only changes when the product does. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-dashboard-'));
  const ca = await createCertificateAuthority({ commonName: 'dashboard CA' });
  const volume = new SecretVolume(dir);
  const servingCertificate = (validityDays: number) =>
    issueCertificate(ca, {
      commonName: 'bouncer',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
      validityDays,
    });
  const first = await servingCertificate(90);
  volume.publish(first.certificatePem, first.privateKeyPem);
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, POLICY(''));

  const bouncer = spawn(
    process.execPath,
    [
      'dist/main.js',
      'serve',
      '--workers',
      '2',
      ...loopbackListenerArgs(port, healthPort),
      '--cert',
      volume.certPath,
      '--key',
      volume.keyPath,
      '--policy',
      policyPath,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await delay(5_000);

  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: ca.certificatePem });
  const send = (path: string, body: string, contentType = 'application/json'): void => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': contentType } },
      (res) => res.resume(),
    );
    req.on('error', () => undefined);
    req.end(body);
  };
  const imageReview = (image: string, annotations: Record<string, string> = {}): string =>
    JSON.stringify({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: { containers: [{ image }], namespace: 'shop', annotations },
    });
  const admissionReview = (image: string, uid: string): string =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        operation: 'CREATE',
        namespace: 'shop',
        object: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      },
    });

  const next = random(42);
  const scrapes: { t: number; samples: Sample[] }[] = [];
  const scrape = (): Promise<Sample[]> =>
    new Promise((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port: healthPort, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(parsePrometheusText(text)));
      }).on('error', reject),
    );

  const started = Date.now();
  let lastScrape = -SCRAPE_EVERY_S;
  const events = new Set<number>();
  for (let tick = 0; ; tick++) {
    const t = (Date.now() - started) / 1000;
    if (t > SECONDS) break;
    const at = (second: number, action: () => void | Promise<void>): void => {
      if (t >= second && !events.has(second)) {
        events.add(second);
        void action();
      }
    };
    at(40, () =>
      writeFileSync(
        policyPath,
        POLICY('    - {name: no-unknown-hub, deniedRepositories: ["docker.io/randomuser/**"]}\n'),
      ),
    );
    at(55, () =>
      writeFileSync(policyPath, POLICY('    - {name: typo, deniedRepository: ["docker.io/x/**"]}\n')),
    );
    at(62, () =>
      writeFileSync(
        policyPath,
        POLICY('    - {name: no-unknown-hub, deniedRepositories: ["docker.io/randomuser/**"]}\n'),
      ),
    );
    at(90, async () => {
      const rotated = await servingCertificate(60);
      volume.publish(rotated.certificatePem, rotated.privateKeyPem);
    });
    at(100, () => volume.publish(first.certificatePem, 'not a key'));

    const rate = 40 + 160 * Math.min(1, t / 60); // reviews per second, rising
    const perTick = Math.round(rate / 10);
    for (let i = 0; i < perTick; i++) {
      const roll = next();
      const uid = `uid-${tick}-${i}`;
      if (t >= 70 && t < 85 && roll < 0.1) {
        send(
          '/image_policy',
          imageReview('nginx', {
            'break-glass.image-policy.k8s.io/INC-7': new Date(Date.now() + 3_600_000).toISOString(),
          }),
        );
      } else if (roll < 0.62) {
        if (next() < 0.5) send('/image_policy', imageReview(`registry.example.com/shop/api:1.${tick % 9}`));
        else send('/validate', admissionReview('registry.example.com/shop/web:2.4', uid));
      } else if (roll < 0.8)
        send(
          '/validate',
          admissionReview(next() < 0.5 ? 'nginx' : 'registry.example.com/shop/tool:latest', uid),
        );
      else if (roll < 0.92) send('/image_policy', imageReview('ghcr.io/acme/agent:3.1'));
      else if (roll < 0.97)
        send('/validate', admissionReview(t > 40 ? 'randomuser/miner:1' : 'ghcr.io/acme/cli:1', uid));
      else if (roll < 0.99) send('/image_policy', '{"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": ');
      else send('/image_policy', 'image: nginx', 'text/yaml');
    }
    if (t - lastScrape >= SCRAPE_EVERY_S) {
      lastScrape = t;
      scrapes.push({ t, samples: await scrape() });
    }
    await delay(Math.max(0, started + (tick + 1) * 100 - Date.now()));
  }
  agent.destroy();
  bouncer.kill('SIGTERM');
  writeFileSync(join(ROOT, 'deploy', 'grafana', 'dashboard.svg'), renderDashboard(scrapes));
  process.stdout.write(
    `wrote deploy/grafana/dashboard.svg from ${scrapes.length} scrapes over ${SECONDS} s\n`,
  );
}

type Labels = Readonly<Record<string, string>>;
const matches = (labels: Labels, wanted: Labels): boolean =>
  Object.entries(wanted).every(([k, v]) => labels[k] === v);
const total = (samples: Sample[], name: string, wanted: Labels = {}): number =>
  samples.filter((s) => s.name === name && matches(s.labels, wanted)).reduce((sum, s) => sum + s.value, 0);
const groups = (samples: Sample[][], name: string, by: string[], wanted: Labels = {}): Labels[] => {
  const seen = new Map<string, Labels>();
  for (const s of samples.flat()) {
    if (s.name !== name || !matches(s.labels, wanted)) continue;
    const key = Object.fromEntries(by.map((b) => [b, s.labels[b] ?? '']));
    seen.set(JSON.stringify(key), key);
  }
  return [...seen.values()];
};

/** rate() between consecutive scrapes, summed over series matching `wanted`. */
function rateSeries(
  scrapes: { t: number; samples: Sample[] }[],
  name: string,
  wanted: Labels = {},
  per = 1,
): [number, number][] {
  return scrapes.slice(1).map((scrape, i) => {
    const previous = scrapes[i];
    const delta = total(scrape.samples, name, wanted) - total(previous.samples, name, wanted);
    return [Math.round(scrape.t), (Math.max(0, delta) / (scrape.t - previous.t)) * per];
  });
}

/** histogram_quantile over the bucket increases between consecutive scrapes, in milliseconds. */
function quantileSeries(scrapes: { t: number; samples: Sample[] }[], quantile: number): [number, number][] {
  const name = 'kube_image_bouncer_request_duration_seconds_bucket';
  return scrapes.slice(1).map((scrape, i) => {
    const bounds = [...new Set(scrape.samples.filter((s) => s.name === name).map((s) => s.labels.le))]
      .map((le) => ({ le, bound: le === '+Inf' ? Infinity : Number(le) }))
      .sort((a, b) => a.bound - b.bound);
    const counts = bounds.map(({ le, bound }) => ({
      bound,
      count: total(scrape.samples, name, { le }) - total(scrapes[i].samples, name, { le }),
    }));
    const all = counts.at(-1)?.count ?? 0;
    if (all <= 0) return [Math.round(scrape.t), NaN];
    const rank = quantile * all;
    let lowerBound = 0;
    let lowerCount = 0;
    for (const { bound, count } of counts) {
      if (count >= rank) {
        const upper = Number.isFinite(bound) ? bound : lowerBound;
        return [
          Math.round(scrape.t),
          (lowerBound + ((upper - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1e-9)) *
            1000,
        ];
      }
      lowerBound = bound;
      lowerCount = count;
    }
    return [Math.round(scrape.t), NaN];
  });
}

function renderDashboard(scrapes: { t: number; samples: Sample[] }[]): string {
  const all = scrapes.map((s) => s.samples);
  const last = scrapes.at(-1)!.samples;
  const width = 1200;
  const half = (width - 30) / 2;
  const stat = (width - 50) / 4;
  const decisions = 'kube_image_bouncer_decisions_total';
  const requests = 'kube_image_bouncer_requests_total';
  const window = rateSeries(scrapes, requests).slice(-5);
  const reviewsPerSecond = window.reduce((sum, [, v]) => sum + v, 0) / Math.max(window.length, 1);
  const deniedShare =
    rateSeries(scrapes, decisions, { decision: 'deny' })
      .slice(-5)
      .reduce((s, [, v]) => s + v, 0) /
    Math.max(
      rateSeries(scrapes, decisions)
        .slice(-5)
        .reduce((s, [, v]) => s + v, 0),
      1e-9,
    );
  const expiryDays =
    (total(last, 'kube_image_bouncer_certificate_expiry_timestamp_seconds') - Date.now() / 1000) / 86400;
  const failed = total(last, 'kube_image_bouncer_review_errors_total');

  const series = (
    name: string,
    by: string[],
    wanted: Labels,
    label: (l: Labels) => string,
    per = 1,
  ): LineSeries[] =>
    groups(all, name, by, wanted).map((key) => ({
      name: label(key),
      points: rateSeries(scrapes, name, { ...wanted, ...key }, per),
    }));
  const increases = (name: string, by: string[], label: (l: Labels) => string): LineSeries[] =>
    series(name, by, {}, label, SCRAPE_EVERY_S);

  const panels = [
    statPanelSvg('Reviews per second', reviewsPerSecond.toFixed(0), '#73bf69', {
      x: 10,
      y: 50,
      width: stat,
      height: 90,
    }),
    statPanelSvg('Denied share', `${(deniedShare * 100).toFixed(0)}%`, '#73bf69', {
      x: 20 + stat,
      y: 50,
      width: stat,
      height: 90,
    }),
    statPanelSvg(
      'Certificate expires in',
      `${expiryDays.toFixed(0)} days`,
      expiryDays < 7 ? '#f2495c' : expiryDays < 30 ? '#ff9830' : '#73bf69',
      { x: 30 + stat * 2, y: 50, width: stat, height: 90 },
    ),
    statPanelSvg('Failed reviews', String(failed), failed > 0 ? '#f2495c' : '#73bf69', {
      x: 40 + stat * 3,
      y: 50,
      width: stat,
      height: 90,
    }),
    linePanelSvg(
      'Decisions by outcome',
      '/s',
      series(decisions, ['decision'], {}, (l) => l.decision),
      { x: 10, y: 150, width: half, height: 220 },
    ),
    linePanelSvg(
      'Denials and warnings by rule',
      '/s',
      [
        ...series(decisions, ['rule'], { decision: 'deny' }, (l) => `deny ${l.rule}`),
        ...series(decisions, ['rule'], { decision: 'warn' }, (l) => `warn ${l.rule}`),
      ],
      { x: 20 + half, y: 150, width: half, height: 220 },
    ),
    linePanelSvg(
      'Review latency',
      'ms',
      [
        { name: 'p50', points: quantileSeries(scrapes, 0.5) },
        { name: 'p99', points: quantileSeries(scrapes, 0.99) },
      ],
      { x: 10, y: 380, width: half, height: 220 },
    ),
    linePanelSvg(
      'Requests by status code',
      '/s',
      series(requests, ['endpoint', 'code'], {}, (l) => `${l.endpoint} ${l.code}`),
      { x: 20 + half, y: 380, width: half, height: 220 },
    ),
    linePanelSvg(
      'Policy reloads, certificate rotations, break-glass',
      'per scrape',
      [
        ...increases('kube_image_bouncer_policy_reloads_total', ['result'], (l) => `policy ${l.result}`),
        ...increases(
          'kube_image_bouncer_certificate_rotations_total',
          ['result'],
          (l) => `certificate ${l.result}`,
        ),
        {
          name: 'break-glass',
          points: rateSeries(scrapes, 'kube_image_bouncer_break_glass_total', {}, SCRAPE_EVERY_S),
        },
      ],
      { x: 10, y: 610, width: half, height: 220 },
    ),
    linePanelSvg(
      'Memory (resident, all workers)',
      'MB',
      [
        {
          name: 'resident',
          points: scrapes.map((s) => [
            Math.round(s.t),
            total(s.samples, 'process_resident_memory_bytes') / 1048576,
          ]),
        },
      ],
      { x: 20 + half, y: 610, width: half, height: 220 },
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="840" viewBox="0 0 ${width} 840" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="840" fill="#111217"/>`,
    `<text x="12" y="30" font-size="18" font-weight="bold" fill="#d8d9da">kube-image-bouncer</text>`,
    `<text x="240" y="30" font-size="11" fill="#8e8e8e">panels of deploy/grafana/kube-image-bouncer.json, from ${scrapes.length} real scrapes of a 2-worker bouncer under a scripted workload (npm run dashboard)</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `dashboard failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
