import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { classifyAddress } from './address-class';
import { RegistryAccess } from './registry-settings';

/**
 * The three kinds of connection the client makes: to the registry an image names, to where one of
 * its answers redirects, and to the token realm its 401 names. The registry, the redirect and the
 * realm all come from someone who may be hostile: anyone who may create a pod names the registry,
 * and the registry names the rest.
 */
export type Hop = 'registry' | 'redirect' | 'realm';

/** Why a hop was refused, as metrics label it. */
export type HopRefusalReason =
  | 'not a URL'
  | 'not https'
  | 'https to http'
  | 'credentials'
  | 'address'
  | 'resolved address'
  | 'too many redirects';

/** How a hop may be made, or why it may not. */
export type HopVerdict =
  | {
      readonly allowed: true;
      readonly url: URL;
      /** Connect only where the connection's own DNS lookup finds public addresses. */
      readonly publicOnly: boolean;
    }
  | { readonly allowed: false; readonly reason: HopRefusalReason; readonly why: string };

/** The Fetch standard's limit: https://fetch.spec.whatwg.org/#http-redirect-fetch (step 5). */
export const MAX_REDIRECTS = 20;

/** The code of the error the public-only lookup fails a connection with. */
export const HOP_REFUSED = 'ERR_KIB_HOP_REFUSED';

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'https:': '443', 'http:': '80' };

/** `host[:port]` as a policy may list it: `h` and `h:443` are the same https host. */
function hostSpellings(url: URL): string[] {
  const spellings = [url.host];
  if (url.port === '' && DEFAULT_PORTS[url.protocol])
    spellings.push(`${url.hostname}:${DEFAULT_PORTS[url.protocol]}`);
  return spellings;
}

const refusal = (reason: HopRefusalReason, why: string): HopVerdict => ({ allowed: false, reason, why });

/** How a refusal names the hop: `token realm x`, `redirect to x`, `registry x`. */
export function hopName(hop: Hop, host: string): string {
  return hop === 'realm'
    ? `token realm ${host}`
    : hop === 'redirect'
      ? `redirect to ${host}`
      : `registry ${host}`;
}

/**
 * The one guard every connection passes, before it is made: the registry an exchange starts at,
 * each redirect hop, each token realm.
 *
 * - Scheme: https, or http only for a registry the policy marks `insecure`; never from https down
 *   to http along one exchange's redirects. No credentials in the URL.
 * - Host: a host the policy lists in `spec.registries` (and the registry's own host, when the policy
 *   lists the registry) may be anywhere: the policy vouches for it. Any other host must be public.
 *   An address literal is judged here, since Node never looks one up; a name is judged by the
 *   connection's own DNS lookup (`publicOnly`), so it cannot be re-pointed between a check and the
 *   connection.
 *
 * A refusal depends on the URL alone, never on what answers there, and no connection is opened for
 * it: the guard cannot be used to learn which ports of an internal address are open.
 */
export function judgeHop(target: string | URL, hop: Hop, access: RegistryAccess, from?: URL): HopVerdict {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return refusal('not a URL', `${hopName(hop, JSON.stringify(String(target)))} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return refusal(
      'not https',
      `${hopName(hop, url.origin === 'null' ? url.protocol : url.origin)} is not https`,
    );
  if (url.protocol === 'http:' && from?.protocol === 'https:')
    return refusal('https to http', `${hopName(hop, url.origin)} would go from https down to http`);
  if (url.protocol === 'http:' && !access.insecure)
    return refusal('not https', `${hopName(hop, url.origin)} is not https`);
  if (url.username || url.password)
    return refusal(
      'credentials',
      hop === 'realm' ? 'token realm carries credentials' : `${hopName(hop, 'a URL')} carrying credentials`,
    );
  if (vouchedFor(url, access)) return { allowed: true, url, publicOnly: false };
  const address = classifyAddress(url.hostname);
  if (address?.public === false) {
    const kind =
      address.kind === 'private'
        ? 'a private'
        : `${/^[aeiou]/i.test(address.kind) ? 'an' : 'a'} ${address.kind}`;
    return refusal('address', `${hopName(hop, url.host)} is ${kind} address the policy does not list`);
  }
  return { allowed: true, url, publicOnly: true };
}

/** Whether the policy vouches for the host: it lists it, or it is the listed registry's own host. */
function vouchedFor(url: URL, access: RegistryAccess): boolean {
  const spellings = hostSpellings(url);
  if (spellings.some((host) => access.policyLists(host))) return true;
  return (
    new URL(access.baseUrl).host.toLowerCase() === url.host.toLowerCase() &&
    access.policyLists(access.registry)
  );
}

/**
 * The DNS lookup of connections to hosts the policy does not vouch for: it fails the connection
 * when any address the name resolves to is not public, before a socket is opened.
 */
export const publicAddressLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => classifyAddress(a.address)?.public !== true);
    if (refused)
      return callback(
        Object.assign(new Error(`${hostname} resolves to a private address`), {
          code: HOP_REFUSED,
          hostname,
        }),
        '',
        0,
      );
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};
