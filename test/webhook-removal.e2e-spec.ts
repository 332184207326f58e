import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { removeWebhookConfigurations } from '../src/cli/apiserver-files';
import { runCli } from './support/cli-run';
import { DOCUMENT_PATHS, codeBlocks, readmeSection } from './support/readme';

const ROOT = join(__dirname, '..');
const SELECTOR = 'app.kubernetes.io/name=kube-image-bouncer';
const [DELETE_ALL, LIST_ALL] = removeWebhookConfigurations().split('\n');

const yamlFilesUnder = (directory: string): string[] =>
  readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });

interface WebhookConfiguration {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}
const webhookConfigurationsIn = (path: string): WebhookConfiguration[] =>
  parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => document.toJS() as WebhookConfiguration | null)
    .filter(
      (object): object is WebhookConfiguration => object?.kind?.endsWith('WebhookConfiguration') === true,
    );

/**
 * A fail-closed webhook that outlives the bouncer refuses every pod it selects. Removal therefore
 * deletes every webhook configuration first, by a label all of them carry, so that it stays right
 * however many there are and whichever were registered (the conformance tier runs the steps on a
 * real kube-apiserver: scenario 13).
 */
describe('removing the bouncer', () => {
  describe('every webhook configuration the project ships carries the label removal selects by', () => {
    const labelled =
      (root: string) =>
      (path: string): string[] =>
        webhookConfigurationsIn(path).map(
          ({ kind, metadata }) =>
            `${relative(root, path)} ${kind}/${metadata.name}: ${metadata.labels?.['app.kubernetes.io/name'] ?? 'no label'}`,
        );

    it('in the kits', () => {
      const found = yamlFilesUnder(join(ROOT, 'deploy')).flatMap(labelled(ROOT));
      expect(found.length).toBeGreaterThanOrEqual(4);
      expect(found.filter((line) => !line.endsWith(': kube-image-bouncer'))).toEqual([]);
    });

    it.each([
      [
        ['setup', '--host', 'bouncer.example.com'],
        [
          'out/image-volume-webhook-configuration.yaml ValidatingWebhookConfiguration/kube-image-bouncer-image-volumes: kube-image-bouncer',
          'out/mutating-webhook-configuration.yaml MutatingWebhookConfiguration/kube-image-bouncer: kube-image-bouncer',
          'out/validating-webhook-configuration.yaml ValidatingWebhookConfiguration/kube-image-bouncer: kube-image-bouncer',
        ],
      ],
      [
        ['setup', '--in-cluster'],
        [
          'out/mutating-webhook-configuration.yaml MutatingWebhookConfiguration/kube-image-bouncer: kube-image-bouncer',
          'out/validating-webhook-configuration.yaml ValidatingWebhookConfiguration/kube-image-bouncer: kube-image-bouncer',
        ],
      ],
    ])('in what %j writes, each of them', (args, expected) => {
      const out = join(mkdtempSync(join(tmpdir(), 'removal-setup-')), 'out');
      expect(runCli([...args, '--out', out])).toMatchObject({ status: 0 });
      expect(
        yamlFilesUnder(out)
          .flatMap(labelled(join(out, '..')))
          .sort(),
      ).toEqual(expected);
    });

    it("in the chart's templates (rendered and checked on a real kube-apiserver by scenario 9)", () => {
      const templates = join(ROOT, 'charts', 'kube-image-bouncer', 'templates');
      const webhooks = readdirSync(templates).filter((name) =>
        /^kind: \w+WebhookConfiguration$/m.test(readFileSync(join(templates, name), 'utf8')),
      );
      expect(webhooks.length).toBeGreaterThanOrEqual(2);
      for (const name of webhooks)
        expect(readFileSync(join(templates, name), 'utf8')).toContain('include "kube-image-bouncer.labels"');
    });
  });

  describe('every removal instruction deletes them all first', () => {
    it('is one selector, and the label is what the kits, setup and the chart set', () => {
      expect(DELETE_ALL).toBe(
        `kubectl delete validatingwebhookconfigurations,mutatingwebhookconfigurations -l ${SELECTOR}`,
      );
      expect(LIST_ALL).toBe(
        `kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -l ${SELECTOR}`,
      );
    });

    it('in docs/deploying.md, for the kit, Helm and a VM', () => {
      const blocks = codeBlocks(readmeSection('Removing it', 'docs/deploying.md'), 'sh');
      expect(blocks).toHaveLength(3);
      for (const block of blocks) expect(block.split('\n').slice(0, 2)).toEqual([DELETE_ALL, LIST_ALL]);
      expect(blocks.map((block) => block.split('\n')[2])).toEqual([
        'kubectl delete -k deploy/kubernetes/cert-manager',
        'helm uninstall kube-image-bouncer -n kube-image-bouncer',
        expect.stringMatching(/^systemctl disable --now kube-image-bouncer /),
      ]);
    });

    it.each([[['setup', '--host', 'bouncer.example.com']], [['setup', '--in-cluster']]])(
      'in the README %j writes',
      (args) => {
        const out = join(mkdtempSync(join(tmpdir(), 'removal-readme-')), 'out');
        expect(runCli([...args, '--out', out])).toMatchObject({ status: 0 });
        const readme = readFileSync(join(out, 'README.md'), 'utf8');
        const [block] = codeBlocks(readme.slice(readme.indexOf('\n## Removing it\n')), 'sh');
        expect(block.split('\n').slice(0, 2)).toEqual([DELETE_ALL, LIST_ALL]);
      },
    );

    it("in the chart's notes, before helm uninstall", () => {
      const notes = readFileSync(
        join(ROOT, 'charts', 'kube-image-bouncer', 'templates', 'NOTES.txt'),
        'utf8',
      );
      const deleteAt = notes.indexOf(
        'kubectl delete validatingwebhookconfigurations,mutatingwebhookconfigurations -l app.kubernetes.io/instance={{ .Release.Name }},app.kubernetes.io/name={{ .Chart.Name }}',
      );
      expect(deleteAt).toBeGreaterThan(0);
      expect(notes.indexOf('helm uninstall')).toBeGreaterThan(deleteAt);
    });

    it('and no document deletes one webhook configuration by its name', () => {
      const byName = /kubectl delete (validating|mutating)webhookconfigurations? [a-z]/;
      const documents = [...DOCUMENT_PATHS, join(ROOT, 'SECURITY.md'), join(ROOT, 'CHANGELOG.md')];
      expect(documents.filter((path) => byName.test(readFileSync(path, 'utf8')))).toEqual([]);
    });
  });
});
