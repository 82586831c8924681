/**
 * Fetching a URL a task named (an http or https input), so that it can reach only the public
 * internet: every address the name resolves to, and every address a redirect leads to, is checked
 * before a connection is made to it, and the connection goes to exactly the address that was checked
 * (no second lookup a DNS answer could change). Loopback, private, shared, link-local (the metadata
 * endpoints 169.254.169.254 and 169.254.170.2 among them), unspecified, multicast, broadcast,
 * documentation and IPv4-in-IPv6 addresses are refused, in every spelling a URL parser accepts
 * (decimal, octal, hex). Operators may allow named hosts or CIDRs (TES_HTTP_INPUT_ALLOW). The same
 * code runs in the stage-in container on Fargate and locally.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export class ForbiddenAddressError extends Error {}

const NOT_PUBLIC_V4 = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const;
const NOT_PUBLIC_V6 = [
  ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const;

// Apart: a block list of IPv6 ranges also matches IPv4 addresses through their mapped form.
const notPublicV4 = new BlockList();
for (const [address, prefix] of NOT_PUBLIC_V4) notPublicV4.addSubnet(address, prefix, 'ipv4');
const notPublicV6 = new BlockList();
for (const [address, prefix] of NOT_PUBLIC_V6) notPublicV6.addSubnet(address, prefix, 'ipv6');

/** Named hosts and CIDRs an operator allows although they are not public (`TES_HTTP_INPUT_ALLOW`). */
export interface AddressAllowance {
  hosts: readonly string[];
  networks: BlockList;
}

/** Reads `10.1.0.0/16,files.internal.example,192.0.2.7`; throws naming what it cannot read. */
export function parseAllowance(text: string | undefined): AddressAllowance {
  const hosts: string[] = [];
  const networks = new BlockList();
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [address = '', prefix, ...rest] = item.split('/');
    const family = isIP(address);
    const bits = Number(prefix);
    if (family !== 0 && (rest.length > 0 || (prefix !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128))))) {
      throw new Error(`TES_HTTP_INPUT_ALLOW: ${JSON.stringify(item)} is not an address or CIDR`);
    }
    if (family === 0) {
      if (prefix !== undefined || !/^[a-z0-9.-]+$/i.test(item)) throw new Error(`TES_HTTP_INPUT_ALLOW: ${JSON.stringify(item)} is neither a host name nor an address or CIDR`);
      hosts.push(item.toLowerCase());
    } else if (prefix === undefined) networks.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    else networks.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  return { hosts, networks };
}

/** Whether a connection to `address` is allowed: a public address, or one the operator allows. */
export function addressAllowed(address: string, allowance: AddressAllowance): boolean {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (allowance.networks.check(address, family)) return true;
  return !(family === 'ipv4' ? notPublicV4 : notPublicV6).check(address, family);
}

/** A lookup that answers only allowed addresses, so the socket connects to one that was checked. */
function checkedLookup(allowance: AddressAllowance, hostAllowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const found = addresses as { address: string; family: number }[];
      const allowed = hostAllowed ? found : found.filter((a) => addressAllowed(a.address, allowance));
      if (allowed.length === 0) {
        return callback(new ForbiddenAddressError(`${hostname} resolves to ${found.map((a) => a.address).join(', ')}, which is not a public address`), '', 0);
      }
      if ((options as { all?: boolean }).all === true) return (callback as unknown as (e: null, a: typeof allowed) => void)(null, allowed);
      const first = allowed[0] as { address: string; family: number };
      return callback(null, first.address, first.family);
    });
  };
}

export interface PublicFetchOptions {
  allowance: AddressAllowance;
  /** Redirects followed, each checked again (default 5). */
  maxRedirects?: number;
  /** How long connecting may take (default 15 s), and how long the answer may pause (default 60 s). */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** GETs `url`, following checked redirects; resolves with the final response, status 2xx. */
export async function publicGet(url: string, options: PublicFetchOptions): Promise<IncomingMessage> {
  let current = new URL(url);
  for (let redirects = 0; ; redirects += 1) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new ForbiddenAddressError(`${current.protocol} URLs are not fetched`);
    if (current.username !== '' || current.password !== '') throw new ForbiddenAddressError('URLs with credentials in them are not fetched');
    const hostname = current.hostname.replace(/^\[|\]$/g, '');
    const hostAllowed = options.allowance.hosts.includes(hostname.toLowerCase());
    if (isIP(hostname) !== 0 && !hostAllowed && !addressAllowed(hostname, options.allowance)) {
      throw new ForbiddenAddressError(`${hostname} is not a public address`);
    }
    const response = await get(current, checkedLookup(options.allowance, hostAllowed), options);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (redirects >= (options.maxRedirects ?? 5)) throw new Error(`more than ${options.maxRedirects ?? 5} redirects`);
      current = new URL(location, current);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw new Error(`HTTP ${status} ${response.statusMessage ?? ''}`.trim());
    }
    return response;
  }
}

function get(url: URL, lookup: LookupFunction, options: PublicFetchOptions): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', lookup, headers: { 'user-agent': 'tes-stage-in' } }, (res) => {
      // An answer that stops coming fails, however long the input is.
      res.setTimeout(options.idleTimeoutMs ?? 60_000, () => res.destroy(new Error(`no data for ${(options.idleTimeoutMs ?? 60_000) / 1000} s`)));
      resolve(res);
    });
    const connect = setTimeout(() => req.destroy(new Error(`could not connect within ${(options.connectTimeoutMs ?? 15_000) / 1000} s`)), options.connectTimeoutMs ?? 15_000);
    req.on('socket', (socket) => {
      socket.once('connect', () => clearTimeout(connect));
      socket.once('secureConnect', () => clearTimeout(connect));
    });
    req.on('response', () => clearTimeout(connect));
    req.on('error', (error) => {
      clearTimeout(connect);
      reject(error);
    });
    req.end();
  });
}
