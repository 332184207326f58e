import { isIP, isIPv6 } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_PORT, InvalidConfigError } from '../config';
import {
  admissionConfiguration,
  imagePolicyKubeconfig,
  imageVolumeWebhookConfiguration,
  mutatingWebhookConfiguration,
  staticWebhookConfiguration,
  validatingWebhookConfiguration,
  webhookKubeconfig,
} from './apiserver-files';
import {
  GROUP_READABLE_MODE,
  PRIVATE_MODE,
  PUBLIC_MODE,
  refuseToOverwrite,
  resolveGroup,
  writeSetupOutput,
} from './setup-output';
import { setupReadme } from './setup-readme';

export const DEFAULT_SETUP_DIRECTORY = 'kube-image-bouncer-setup';
export const DEFAULT_APISERVER_DIRECTORY = '/etc/kubernetes/image-policy';
export const DEFAULT_VALIDITY_DAYS = 365;

export interface SetupOptions {
  /** DNS name or IP address the kube-apiserver uses to reach the bouncer. */
  readonly host: string;
  /** Further IP addresses for the server certificate. */
  readonly ipAddresses?: readonly string[];
  readonly port?: number;
  /** Where to write; default `./kube-image-bouncer-setup`. */
  readonly outDir?: string;
  /** Where the apiserver will find its files; paths inside them point there. */
  readonly apiserverDir?: string;
  readonly validityDays?: number;
  /** Replace files that exist; without it, nothing is written if any does. */
  readonly force?: boolean;
  /**
   * The group the server runs as (a gid, or a name in /etc/group): `server.key` is given to it,
   * mode 0640, so a server that is not root can read it. 65532 for the container image.
   */
  readonly group?: string | number;
  /**
   * `--static DIR`: where the apiserver reads KEP-5793 static webhook manifests. The webhook
   * configurations are also written as such under `static/` and the AdmissionConfiguration names
   * DIR/validating.
   */
  readonly staticDir?: string;
}

/** The file names `setup` writes, by what they are. */
export const SETUP_FILE_NAMES = {
  caCertificate: 'ca.crt',
  caKey: 'ca.key',
  serverCertificate: 'server.crt',
  serverKey: 'server.key',
  clientCertificate: 'apiserver-client.crt',
  clientKey: 'apiserver-client.key',
  imagePolicyKubeconfig: 'kubeconfig.yaml',
  webhookKubeconfig: 'webhook-kubeconfig.yaml',
  admissionConfiguration: 'admission-config.yaml',
  validatingWebhookConfiguration: 'validating-webhook-configuration.yaml',
  mutatingWebhookConfiguration: 'mutating-webhook-configuration.yaml',
  imageVolumeWebhookConfiguration: 'image-volume-webhook-configuration.yaml',
  readme: 'README.md',
} as const;

export type SetupFile = keyof typeof SETUP_FILE_NAMES;

/** The static manifests `setup --static` writes besides, one directory per admission plugin. */
export const STATIC_FILE_NAMES = {
  staticValidatingWebhookConfiguration: 'static/validating/kube-image-bouncer.static.yaml',
  staticMutatingWebhookConfiguration: 'static/mutating/kube-image-bouncer.static.yaml',
} as const;
export type StaticSetupFile = keyof typeof STATIC_FILE_NAMES;
const PRIVATE_KEYS: ReadonlySet<SetupFile> = new Set(['caKey', 'serverKey', 'clientKey']);

/** What `writeSetupFiles` wrote: absolute paths, and how to reach and start the bouncer. */
export interface SetupResult {
  readonly directory: string;
  readonly files: Readonly<Record<SetupFile, string>>;
  /** `https://bouncer.example.com:1323`, without a path. */
  readonly serverUrl: string;
  /** Arguments for `kube-image-bouncer` that serve with these files. */
  readonly serveArgs: readonly string[];
  /** The group given `server.key`, with `--group`. */
  readonly serverKeyGid?: number;
  /** With `--static`: the static manifests, by absolute path. */
  readonly staticFiles?: Readonly<Record<StaticSetupFile, string>>;
}

// RFC 1123 subdomain, as Kubernetes validates host names.
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

interface ResolvedSetup {
  readonly host: string;
  readonly ipAddresses: readonly string[];
  readonly port: number;
  readonly directory: string;
  readonly apiserverDir: string;
  readonly validityDays: number;
  readonly serverKeyGid?: number;
  readonly staticDir?: string;
}

function resolveOptions(options: SetupOptions): ResolvedSetup {
  const problems: string[] = [];
  const { host } = options;
  if (!DNS_NAME.test(host) && isIP(host) === 0)
    problems.push(
      `--host must be a DNS name (lower case, RFC 1123) or an IP address (got ${JSON.stringify(host)})`,
    );
  for (const ip of options.ipAddresses ?? [])
    if (isIP(ip) === 0) problems.push(`--ip must be an IP address (got ${JSON.stringify(ip)})`);
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    problems.push(`--port must be an integer between 1 and 65535 (got ${JSON.stringify(port)})`);
  const validityDays = options.validityDays ?? DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(validityDays) || validityDays < 1)
    problems.push(`--days must be a positive integer (got ${JSON.stringify(validityDays)})`);
  const group = options.group === undefined ? undefined : resolveGroup(options.group);
  if (group && 'problem' in group) problems.push(group.problem);
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return {
    serverKeyGid: group && 'gid' in group ? group.gid : undefined,
    host,
    // A host given as an IP address must be an IP SAN: clients never match an address against a DNS SAN.
    ipAddresses: [...new Set([...(isIP(host) ? [host] : []), ...(options.ipAddresses ?? [])])],
    port,
    directory: resolve(options.outDir ?? DEFAULT_SETUP_DIRECTORY),
    apiserverDir: resolve(options.apiserverDir ?? DEFAULT_APISERVER_DIRECTORY),
    validityDays,
    staticDir: options.staticDir === undefined ? undefined : resolve(options.staticDir),
  };
}

const pathsIn = (directory: string): Record<SetupFile, string> =>
  Object.fromEntries(
    Object.entries(SETUP_FILE_NAMES).map(([file, name]) => [file, join(directory, name)]),
  ) as Record<SetupFile, string>;

/**
 * Makes everything a kube-apiserver and a bouncer need to talk over mutual TLS: a CA, the bouncer's
 * server certificate, the apiserver's client certificate, the apiserver's kubeconfigs and
 * AdmissionConfiguration, a ValidatingWebhookConfiguration, and a README saying where each goes.
 * Refuses, writing nothing, when any of the files exists and `force` is not set. Private keys are
 * written mode 0600, but for `server.key` with a `group`: mode 0640, that group's.
 */
export async function writeSetupFiles(options: SetupOptions): Promise<SetupResult> {
  const setup = resolveOptions(options);
  const { directory, host, port, validityDays } = setup;
  const files = pathsIn(directory);

  const staticNames = setup.staticDir === undefined ? [] : Object.values(STATIC_FILE_NAMES);
  refuseToOverwrite(directory, [...Object.values(SETUP_FILE_NAMES), ...staticNames], options.force);

  // Loaded here, not at the top: every other command, serve included, would pay its 14 MB.
  const { createCertificateAuthority, issueCertificate } = await import('../tls/certificate-issuer');
  const ca = await createCertificateAuthority({ commonName: 'kube-image-bouncer CA', validityDays });
  const server = await issueCertificate(ca, {
    commonName: host,
    usages: ['server'],
    dnsNames: isIP(host) ? [] : [host],
    ipAddresses: setup.ipAddresses,
    validityDays,
  });
  const client = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    usages: ['client'],
    validityDays,
  });

  const hostPort = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const apiserverPaths = pathsIn(setup.apiserverDir);
  const apiserver = {
    hostPort,
    paths: apiserverPaths,
    staticManifests:
      setup.staticDir === undefined
        ? undefined
        : { validating: join(setup.staticDir, 'validating'), mutating: join(setup.staticDir, 'mutating') },
  };
  const serveArgs = [
    'serve',
    '--cert',
    files.serverCertificate,
    '--key',
    files.serverKey,
    '--client-ca',
    files.caCertificate,
    '--port',
    String(port),
  ];
  const contents: Record<SetupFile, string> = {
    caCertificate: ca.certificatePem,
    caKey: ca.privateKeyPem,
    serverCertificate: server.certificatePem,
    serverKey: server.privateKeyPem,
    clientCertificate: client.certificatePem,
    clientKey: client.privateKeyPem,
    imagePolicyKubeconfig: imagePolicyKubeconfig(apiserver),
    webhookKubeconfig: webhookKubeconfig(apiserver),
    admissionConfiguration: admissionConfiguration(apiserver),
    validatingWebhookConfiguration: validatingWebhookConfiguration(hostPort, ca.certificatePem),
    mutatingWebhookConfiguration: mutatingWebhookConfiguration(hostPort, ca.certificatePem),
    imageVolumeWebhookConfiguration: imageVolumeWebhookConfiguration(hostPort, ca.certificatePem),
    readme: setupReadme({
      hostPort,
      directory,
      apiserverDir: setup.apiserverDir,
      serveArgs,
      serverKeyGid: setup.serverKeyGid,
      notAfter: ca.notAfter,
      sans: [...(isIP(host) ? [] : [`DNS:${host}`]), ...setup.ipAddresses.map((ip) => `IP:${ip}`)],
      staticDir: setup.staticDir,
    }),
  };

  const { serverKeyGid } = setup;
  const staticFiles =
    setup.staticDir === undefined
      ? undefined
      : (Object.fromEntries(
          Object.entries(STATIC_FILE_NAMES).map(([file, name]) => [file, join(directory, name)]),
        ) as Record<StaticSetupFile, string>);
  if (staticFiles) {
    const where = setup.staticDir!;
    const staticContents: Record<StaticSetupFile, string> = {
      staticValidatingWebhookConfiguration: staticWebhookConfiguration(
        contents.validatingWebhookConfiguration,
        `KEP-5793 static manifest: copy to ${join(where, 'validating')}/ on every control-plane node; the API can neither change nor delete it.`,
      ),
      staticMutatingWebhookConfiguration: staticWebhookConfiguration(
        contents.mutatingWebhookConfiguration,
        `KEP-5793 static manifest, when the policy pins digests: copy to ${join(where, 'mutating')}/ and name that directory in admission-config.yaml.`,
      ),
    };
    for (const [file, path] of Object.entries(staticFiles) as [StaticSetupFile, string][])
      writeSetupOutput(dirname(path), [{ path, contents: staticContents[file], mode: PUBLIC_MODE }]);
  }
  writeSetupOutput(
    directory,
    (Object.entries(files) as [SetupFile, string][]).map(([file, path]) => ({
      path,
      contents: contents[file],
      ...(file === 'serverKey' && serverKeyGid !== undefined
        ? { mode: GROUP_READABLE_MODE, gid: serverKeyGid }
        : { mode: PRIVATE_KEYS.has(file) ? PRIVATE_MODE : PUBLIC_MODE }),
    })),
  );
  return { directory, files, serverUrl: `https://${hostPort}`, serveArgs, serverKeyGid, staticFiles };
}
