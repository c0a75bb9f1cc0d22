/**
 * Who is connecting, for the per-address limits. Behind a reverse proxy (TLS offload,
 * a load balancer) every connection comes from the proxy's address; the client's own is
 * in `X-Forwarded-For`, which anyone can also write. So the header is read only from
 * proxies the operator trusts (`trustProxy`, as Express and `ws` users know it): a
 * number of hops, or the proxies' address ranges. A number of hops says nothing of where
 * the proxy is, so it is believed only from a connection whose address is loopback,
 * private or unique-local (a client that reaches the server directly from the internet
 * cannot pick its address by writing the header); the ranges say exactly who is believed
 * and are the safer form. Addresses are then grouped: an IPv6
 * client usually holds a whole /64, so a /64 counts as one address; an IPv4-mapped IPv6
 * address counts as its IPv4 address.
 */
import { BlockList, isIP } from 'node:net';

/** Which hops of `X-Forwarded-For` to believe. */
export type TrustProxy =
  | { readonly kind: 'none' }
  /**
   * The `hops` proxies nearest the server are trusted, provided the nearest (the
   * connection's own address) is loopback, private or unique-local (`PROXY_NETWORKS`).
   */
  | { readonly kind: 'hops'; readonly hops: number }
  /** Proxies whose address is in one of these ranges are trusted. */
  | { readonly kind: 'ranges'; readonly ranges: BlockList; readonly text: string };

export const NO_PROXY: TrustProxy = { kind: 'none' };

/**
 * Where a proxy counted in hops may connect from: loopback, the private IPv4 ranges
 * (RFC 1918) and IPv6 unique-local addresses. From anywhere else `X-Forwarded-For` is
 * ignored under a number of hops (a proxy elsewhere is named with the range form).
 */
export const PROXY_NETWORKS = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'] as const;

const proxyNetworks = new BlockList();
for (const network of PROXY_NETWORKS) {
  const [address, prefix] = network.split('/') as [string, string];
  proxyNetworks.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6');
}

/** Whether a connection from `address` may be a proxy counted in hops (an IPv4-mapped address counts as IPv4). */
export function isProxyNetwork(address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && proxyNetworks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Reads the `--trust-proxy` setting: a number of hops (`1`), or a comma-separated list
 * of addresses and CIDR ranges (`10.0.0.0/8,fd00::/8,127.0.0.1`). Throws a RangeError
 * saying what is wrong.
 */
export function parseTrustProxy(value: string | number | readonly string[] | undefined): TrustProxy {
  if (value === undefined || value === '' || value === 0 || value === '0') return NO_PROXY;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) {
    const hops = Number(value);
    if (!Number.isInteger(hops) || hops < 0 || hops > 32) throw new RangeError(`trust-proxy: a number of hops must be 0..32, got ${value}.`);
    return hops === 0 ? NO_PROXY : { kind: 'hops', hops };
  }
  const items = (typeof value === 'string' ? value.split(',') : [...value]).map((item) => item.trim()).filter(Boolean);
  const ranges = new BlockList();
  for (const item of items) {
    const [address, prefixText, extra] = item.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) throw new RangeError(`trust-proxy: "${item}" is not an IP address or CIDR range.`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      ranges.addAddress(address!, type);
      continue;
    }
    const prefix = /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) throw new RangeError(`trust-proxy: "${item}" has a bad prefix length.`);
    ranges.addSubnet(address!, prefix, type);
  }
  if (items.length === 0) return NO_PROXY;
  return { kind: 'ranges', ranges, text: items.join(',') };
}

/** `::ffff:1.2.3.4` is 1.2.3.4 (a dual-stack socket's view of an IPv4 client). */
function unmapped(address: string): string {
  // Most addresses are not mapped: no regex run, and the socket's own string is kept (no copy per client).
  if (address.length < 8 || (address.charCodeAt(0) !== 58 && address.charCodeAt(0) !== 48)) return address;
  const match = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

function isTrusted(address: string, hop: number, trust: TrustProxy): boolean {
  switch (trust.kind) {
    case 'none':
      return false;
    case 'hops':
      return hop < trust.hops;
    case 'ranges': {
      const family = isIP(address);
      return family !== 0 && trust.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
    }
  }
}

/**
 * The client's address: the socket's peer, or, while that is a trusted proxy, the next
 * address back in `X-Forwarded-For` (read right to left: each proxy appends the address
 * it saw). A header that is malformed or too short stops the walk where it is.
 */
export function clientAddress(remote: string | undefined, forwardedFor: string | string[] | undefined, trust: TrustProxy): string {
  let current = unmapped(remote ?? '?');
  if (trust.kind === 'none' || forwardedFor === undefined) return current;
  // Hops count from a proxy on the server's side: a connection from elsewhere is the client itself.
  if (trust.kind === 'hops' && !isProxyNetwork(current)) return current;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const chain = header
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .reverse();
  for (let hop = 0; hop < chain.length && isTrusted(current, hop, trust); hop++) {
    const next = unmapped(chain[hop]!);
    if (isIP(next) === 0) break;
    current = next;
  }
  return current;
}

/** The key the per-address limits count under: an IPv6 address's /64, an IPv4 address itself. */
export function addressGroup(address: string): string {
  const plain = unmapped(address);
  if (isIP(plain) !== 6) return plain;
  return `${expandIpv6(plain).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const withoutZone = address.split('%')[0]!;
  const [head, tail] = withoutZone.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // A trailing embedded IPv4 (::1.2.3.4) takes two groups; only the first four matter here.
  const fill = tail === undefined ? [] : new Array(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
