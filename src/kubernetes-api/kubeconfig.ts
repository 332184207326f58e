import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/** What a client needs to talk to one cluster: the server, how to trust it, who to be. */
export interface ClusterConnection {
  /** The context it came from, or `in-cluster`. */
  readonly context: string;
  /** `https://host:port`, without a trailing slash. */
  readonly server: string;
  readonly certificateAuthority?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  readonly clientCertificate?: Buffer;
  readonly clientKey?: Buffer;
  readonly token?: string;
  /** The context's namespace, for when `-n` is not given. */
  readonly namespace?: string;
}

/** A kubeconfig that cannot be used as given: the CLI says why and exits 2, as kubectl does. */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

export interface KubeconfigSource {
  /** `--kubeconfig`: this file alone, which must exist. */
  readonly file?: string;
  /** `--context`: instead of the files' current-context. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

type Entry = Record<string, unknown>;
/** A named cluster, user or context, with the directory of the file it came from (relative paths are read from there). */
interface Named {
  readonly value: Entry;
  readonly directory: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const isEntry = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The files kubectl reads, in its order: `--kubeconfig` alone; else every file of `$KUBECONFIG`
 * (missing ones skipped); else `~/.kube/config`.
 * https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/#merging-kubeconfig-files
 */
function kubeconfigFiles({ file, env = process.env, home = homedir() }: KubeconfigSource): string[] {
  if (file !== undefined) {
    if (!existsSync(file)) throw new KubeconfigError(`--kubeconfig: no such file ${JSON.stringify(file)}`);
    return [file];
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((path) => path !== '');
  if (listed.length > 0) return listed.filter((path) => existsSync(path));
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : [];
}

/** Several files merge as kubectl merges them: the first file to name a cluster, user or context, or to set current-context, wins. */
function merged(files: readonly string[]): {
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext?: string;
} {
  const result = {
    clusters: new Map<string, Named>(),
    users: new Map<string, Named>(),
    contexts: new Map<string, Named>(),
    currentContext: undefined as string | undefined,
  };
  for (const file of files) {
    let document: unknown;
    try {
      document = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new KubeconfigError(`kubeconfig ${file}: ${(error as Error).message.split('\n')[0]}`);
    }
    if (document === null || document === undefined) continue;
    if (!isEntry(document)) throw new KubeconfigError(`kubeconfig ${file}: not a kubeconfig`);
    const directory = dirname(file);
    for (const [list, key] of [
      [result.clusters, 'clusters'],
      [result.users, 'users'],
      [result.contexts, 'contexts'],
    ] as const) {
      const inner = key === 'clusters' ? 'cluster' : key === 'users' ? 'user' : 'context';
      const entries = Array.isArray(document[key]) ? (document[key] as unknown[]) : [];
      for (const entry of entries) {
        if (!isEntry(entry)) continue;
        const name = text(entry.name);
        if (name !== undefined && !list.has(name) && isEntry(entry[inner]))
          list.set(name, { value: entry[inner], directory });
      }
    }
    result.currentContext ??= text(document['current-context']);
  }
  return result;
}

/** `certificate-authority-data` (base64) or `certificate-authority` (a path, relative to its kubeconfig). */
function material(entry: Named, key: string): Buffer | undefined {
  const data = text(entry.value[`${key}-data`]);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const path = text(entry.value[key]);
  if (path === undefined) return undefined;
  const absolute = isAbsolute(path) ? path : join(entry.directory, path);
  try {
    return readFileSync(absolute);
  } catch (error) {
    throw new KubeconfigError(`${key} ${absolute}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

function readTokenFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new KubeconfigError(`tokenFile ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

function inCluster(env: NodeJS.ProcessEnv): ClusterConnection | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = join(SERVICE_ACCOUNT_DIR, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  return {
    context: 'in-cluster',
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    certificateAuthority: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt')),
    insecureSkipTlsVerify: false,
    token: readFileSync(tokenFile, 'utf8').trim(),
    namespace: existsSync(join(SERVICE_ACCOUNT_DIR, 'namespace'))
      ? readFileSync(join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8').trim()
      : undefined,
  };
}

/**
 * The cluster to talk to, found as kubectl finds it: the kubeconfig files, the context (`--context`
 * or current-context), its cluster and user; in a pod with no kubeconfig, its service account.
 * Exec and auth-provider plugins are not run: a user that needs one is refused by name.
 */
export function loadKubeconfig(source: KubeconfigSource = {}): ClusterConnection {
  const env = source.env ?? process.env;
  const files = kubeconfigFiles(source);
  if (files.length === 0) {
    const pod = source.context === undefined ? inCluster(env) : undefined;
    if (pod) return pod;
    throw new KubeconfigError('no kubeconfig: give --kubeconfig, set KUBECONFIG, or write ~/.kube/config');
  }
  const { clusters, users, contexts, currentContext } = merged(files);
  const contextName = source.context ?? currentContext;
  if (contextName === undefined)
    throw new KubeconfigError(`no current-context in ${files.join(', ')}: give --context`);
  const context = contexts.get(contextName);
  if (!context)
    throw new KubeconfigError(`context ${JSON.stringify(contextName)} not found in ${files.join(', ')}`);
  const clusterName = text(context.value.cluster);
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (!cluster)
    throw new KubeconfigError(`context ${contextName}: cluster ${JSON.stringify(clusterName)} not found`);
  const server = text(cluster.value.server);
  if (server === undefined || !/^https?:\/\//.test(server))
    throw new KubeconfigError(`cluster ${clusterName}: server must be an http(s) URL`);
  const userName = text(context.value.user);
  const user = userName === undefined ? undefined : users.get(userName);
  if (user && (isEntry(user.value.exec) || isEntry(user.value['auth-provider'])))
    throw new KubeconfigError(
      `user ${userName}: exec and auth-provider credentials are not supported; use a token or a client certificate`,
    );
  const tokenFile = user ? text(user.value.tokenFile) : undefined;
  return {
    context: contextName,
    server: server.replace(/\/+$/, ''),
    certificateAuthority: material(cluster, 'certificate-authority'),
    insecureSkipTlsVerify: cluster.value['insecure-skip-tls-verify'] === true,
    clientCertificate: user ? material(user, 'client-certificate') : undefined,
    clientKey: user ? material(user, 'client-key') : undefined,
    token:
      (user ? text(user.value.token) : undefined) ??
      (tokenFile
        ? readTokenFile(isAbsolute(tokenFile) ? tokenFile : join(user!.directory, tokenFile))
        : undefined),
    namespace: text(context.value.namespace),
  };
}
