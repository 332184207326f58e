import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../../src/tls/certificate-issuer';
import { AdmissionFlags } from './control-plane';

export interface CertificateFiles {
  readonly certificate: string;
  readonly key: string;
}

/** The README's three certificates: a webhook CA, the bouncer's server certificate, the apiserver's client one. */
export interface WebhookPki {
  readonly caFile: string;
  readonly caPem: string;
  readonly server: CertificateFiles;
  readonly apiserverClient: CertificateFiles;
}

export async function writeWebhookPki(dir: string): Promise<WebhookPki> {
  const ca = await createCertificateAuthority({ commonName: 'kube-image-bouncer CA' });
  // The apiserver dials https://127.0.0.1:<port>, so the server certificate needs that IP SAN.
  const server = await issueCertificate(ca, {
    commonName: 'kube-image-bouncer',
    usages: ['server'],
    ipAddresses: ['127.0.0.1'],
  });
  const client = await issueCertificate(ca, { commonName: 'kube-apiserver', usages: ['client'] });
  const write = (name: string, pem: string, mode = 0o644): string => {
    writeFileSync(join(dir, name), pem, { mode });
    return join(dir, name);
  };
  return {
    caFile: write('webhook-ca.crt', ca.certificatePem),
    caPem: ca.certificatePem,
    server: {
      certificate: write('bouncer.crt', server.certificatePem),
      key: write('bouncer.key', server.privateKeyPem, 0o600),
    },
    apiserverClient: {
      certificate: write('apiserver-client.crt', client.certificatePem),
      key: write('apiserver-client.key', client.privateKeyPem, 0o600),
    },
  };
}

/** The `imagePolicy` stanza of the ImagePolicyWebhook plugin, and what its kubeconfig points at. */
export interface ImagePolicyWebhookSettings {
  /** e.g. https://127.0.0.1:<port>/image_policy */
  readonly server: string;
  readonly caFile: string;
  /** Omitted: the apiserver presents no client certificate (scenario 3). */
  readonly clientCertificate?: CertificateFiles;
  /** Seconds; -1 disables the cache, 0 means the default (300 s allow, 30 s deny). */
  readonly allowTTL: number;
  readonly denyTTL: number;
  /** Milliseconds. */
  readonly retryBackoff: number;
  readonly defaultAllow: boolean;
}

export interface AdmissionSettings {
  /** Omitted: ImagePolicyWebhook is not enabled at all. */
  readonly imagePolicy?: ImagePolicyWebhookSettings;
  /**
   * The client certificate the apiserver presents to validating webhooks. The apiserver finds it by the
   * webhook's host:port among this kubeconfig's user names.
   * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#authenticate-apiservers
   */
  readonly validatingWebhookClient?: { readonly hostPort: string; readonly certificate: CertificateFiles };
}

/**
 * Writes `<name>-admission.json` (an AdmissionConfiguration; JSON is valid YAML) and the kubeconfigs it refers
 * to, and returns the apiserver flags that load it.
 */
export function writeAdmissionConfiguration(
  dir: string,
  name: string,
  settings: AdmissionSettings,
): AdmissionFlags {
  const write = (file: string, content: object): string => {
    writeFileSync(join(dir, file), JSON.stringify(content, null, 2), { mode: 0o600 });
    return join(dir, file);
  };
  const plugins: object[] = [];
  const enablePlugins: string[] = [];

  const { imagePolicy, validatingWebhookClient } = settings;
  if (imagePolicy) {
    const client = imagePolicy.clientCertificate;
    // The plugin insists on https and on current-context.
    const kubeConfigFile = write(`${name}-image-policy.kubeconfig`, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'kube-image-bouncer',
          cluster: { server: imagePolicy.server, 'certificate-authority': imagePolicy.caFile },
        },
      ],
      users: [
        {
          name: 'kube-apiserver',
          user: client ? { 'client-certificate': client.certificate, 'client-key': client.key } : {},
        },
      ],
      contexts: [
        { name: 'image-policy', context: { cluster: 'kube-image-bouncer', user: 'kube-apiserver' } },
      ],
      'current-context': 'image-policy',
    });
    plugins.push({
      name: 'ImagePolicyWebhook',
      configuration: {
        imagePolicy: {
          kubeConfigFile,
          allowTTL: imagePolicy.allowTTL,
          denyTTL: imagePolicy.denyTTL,
          retryBackoff: imagePolicy.retryBackoff,
          defaultAllow: imagePolicy.defaultAllow,
        },
      },
    });
    enablePlugins.push('ImagePolicyWebhook');
  }
  if (validatingWebhookClient) {
    const { certificate } = validatingWebhookClient;
    const kubeConfigFile = write(`${name}-webhook.kubeconfig`, {
      apiVersion: 'v1',
      kind: 'Config',
      users: [
        {
          name: validatingWebhookClient.hostPort,
          user: { 'client-certificate': certificate.certificate, 'client-key': certificate.key },
        },
      ],
    });
    plugins.push({
      name: 'ValidatingAdmissionWebhook',
      configuration: {
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'WebhookAdmissionConfiguration',
        kubeConfigFile,
      },
    });
  }
  const configFile = write(`${name}-admission.json`, {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins,
  });
  return { enablePlugins, configFile };
}
