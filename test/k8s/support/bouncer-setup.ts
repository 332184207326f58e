import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Document, parseDocument } from 'yaml';
import { SETUP_FILE_NAMES, SetupFile } from '../../../src/cli/setup-files';
import { BOUNCER_BIN } from '../../support/bouncer-process';
import { AdmissionFlags } from './control-plane';

/**
 * What the scenarios change in setup's AdmissionConfiguration: the cache lifetimes, in seconds. setup writes
 * 50 s for both and has no option for them; 2 s lets scenario 7 wait out a cached denial.
 */
export const ALLOW_TTL = 2;
export const DENY_TTL = 2;

/** The kube-apiservers the scenarios need, each a small, named departure from setup's files. */
export interface AdmissionVariant {
  /** Scenario 3: the ImagePolicyWebhook kubeconfig's user has no client certificate. */
  readonly withoutClientCertificate?: boolean;
  /** Scenario 5: ImagePolicyWebhook left out of `--enable-admission-plugins`, so only validating webhooks run. */
  readonly withoutImagePolicyWebhook?: boolean;
}

const IMAGE_POLICY = ['plugins', 0, 'configuration', 'imagePolicy'];

/**
 * The files `kube-image-bouncer setup` wrote for a bouncer at https://127.0.0.1:<port>, and the bouncer
 * command and apiserver flags its README gives. The scenarios use them as a user would, so the real
 * kube-apiserver is what proves them.
 */
export class BouncerSetup {
  private constructor(
    private readonly runDir: string,
    readonly files: Readonly<Record<SetupFile, string>>,
    /** `serve --cert ... --key ... --client-ca ... --port ...`, from the README's "On the bouncer host". */
    readonly serveArgs: readonly string[],
    /** From the README's `--enable-admission-plugins=` line. */
    readonly enablePlugins: readonly string[],
  ) {}

  /**
   * Runs the built CLI: `setup --host 127.0.0.1 --port PORT --out DIR --apiserver-dir DIR`, so that the paths
   * inside the apiserver's files are where setup wrote them (`<runDir>/setup`).
   */
  static async generate(runDir: string, port: number): Promise<BouncerSetup> {
    const dir = join(runDir, 'setup');
    const args = [
      'setup',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--out',
      dir,
      '--apiserver-dir',
      dir,
    ];
    const { stdout } = await promisify(execFile)(process.execPath, [BOUNCER_BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    const announced = `wrote ${Object.keys(SETUP_FILE_NAMES).length} files to `;
    if (!stdout.startsWith(announced))
      throw new Error(`unexpected output of kube-image-bouncer ${args.join(' ')}:\n${stdout}`);
    const files = Object.fromEntries(
      Object.entries(SETUP_FILE_NAMES).map(([file, name]) => [file, join(dir, name)]),
    ) as Record<SetupFile, string>;

    const readme = readFileSync(files.readme, 'utf8');
    const line = (pattern: RegExp, what: string): string => {
      const match = pattern.exec(readme);
      if (!match?.[1]) throw new Error(`no ${what} in ${files.readme}`);
      return match[1];
    };
    // Paths under $TMPDIR have no spaces; a split on spaces is the shell's reading of the line.
    const serveArgs = line(/^kube-image-bouncer (serve .*)$/m, '`kube-image-bouncer serve` line').split(' ');
    const enablePlugins = line(/^--enable-admission-plugins=(.*)$/m, '--enable-admission-plugins').split(',');
    return new BouncerSetup(runDir, files, serveArgs, enablePlugins);
  }

  get caPem(): string {
    return readFileSync(this.files.caCertificate, 'utf8');
  }

  /**
   * setup's AdmissionConfiguration with allowTTL and denyTTL set to ALLOW_TTL and DENY_TTL (the only change
   * every apiserver gets), written as `<runDir>/<name>-admission-config.yaml`, and the README's flags.
   */
  admission(name: string, variant: AdmissionVariant = {}): AdmissionFlags {
    const configuration = this.readYaml(this.files.admissionConfiguration);
    configuration.setIn([...IMAGE_POLICY, 'allowTTL'], ALLOW_TTL);
    configuration.setIn([...IMAGE_POLICY, 'denyTTL'], DENY_TTL);
    if (variant.withoutClientCertificate) {
      const kubeconfig = this.readYaml(this.files.imagePolicyKubeconfig);
      kubeconfig.deleteIn(['users', 0, 'user', 'client-certificate']);
      kubeconfig.deleteIn(['users', 0, 'user', 'client-key']);
      configuration.setIn(
        [...IMAGE_POLICY, 'kubeConfigFile'],
        this.write(`${name}-kubeconfig.yaml`, kubeconfig),
      );
    }
    return {
      enablePlugins: this.enablePlugins.filter(
        (plugin) => !(variant.withoutImagePolicyWebhook && plugin === 'ImagePolicyWebhook'),
      ),
      configFile: this.write(`${name}-admission-config.yaml`, configuration),
    };
  }

  private readYaml(path: string): Document {
    return parseDocument(readFileSync(path, 'utf8'));
  }

  private write(file: string, document: Document): string {
    const path = join(this.runDir, file);
    writeFileSync(path, document.toString({ lineWidth: 0 }), { mode: 0o600 });
    return path;
  }
}
