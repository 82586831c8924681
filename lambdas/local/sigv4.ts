/**
 * AWS Signature Version 4, checked: what the local stand-ins (s3rver and dynalite verify no
 * signature) run in front of every request, so that only the holder of the stack's key (the
 * server, and the user who started it) and URLs the broker presigned with it get in. Both forms:
 * the Authorization header, and a presigned URL's query (which also must not have expired).
 *
 * No library checks a signature (the SDK's signers only make one); this follows the published
 * algorithm, and its tests hold it to what the SDK's signers make.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** The request target as it came: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** How far a signing time may be from now (AWS allows 15 minutes). */
const SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';

/** RFC 3986 encoding, as SigV4 wants it. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function parseAmzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (m === null) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The query's name-value pairs, decoded, in the order given. */
function queryPairs(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').map((part) => {
    const cut = part.indexOf('=');
    return cut < 0 ? [decode(part), ''] : [decode(part.slice(0, cut)), decode(part.slice(cut + 1))];
  });
}

/**
 * Why the request is not signed with `credentials`, or undefined when it is. `payloadHash`: the
 * hex SHA-256 of the body for services that sign it (DynamoDB); S3 declares its own in a header.
 */
export function signatureProblem(request: SignedRequest, credentials: Credentials, now: Date, payloadHash?: string): string | undefined {
  const cut = request.url.indexOf('?');
  const path = cut < 0 ? request.url : request.url.slice(0, cut);
  const pairs = queryPairs(cut < 0 ? '' : request.url.slice(cut + 1));
  const query = new Map(pairs);
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string | undefined;
  let hashed: string;
  let canonicalPairs = pairs;
  const presigned = query.has('X-Amz-Signature');
  if (presigned) {
    if (query.get('X-Amz-Algorithm') !== ALGORITHM) return `only ${ALGORITHM} presigned URLs are accepted`;
    credential = query.get('X-Amz-Credential') ?? '';
    signedHeaders = query.get('X-Amz-SignedHeaders') ?? '';
    signature = query.get('X-Amz-Signature') ?? '';
    amzDate = query.get('X-Amz-Date');
    hashed = payloadHash ?? 'UNSIGNED-PAYLOAD';
    canonicalPairs = pairs.filter(([name]) => name !== 'X-Amz-Signature');
    const expires = Number(query.get('X-Amz-Expires'));
    const signedAt = parseAmzDate(amzDate);
    if (!(Number.isInteger(expires) && expires > 0 && expires <= 7 * 24 * 3600)) return 'the presigned URL has no valid X-Amz-Expires';
    if (signedAt !== undefined && signedAt.getTime() + expires * 1000 < now.getTime()) return 'the presigned URL has expired';
  } else {
    const authorization = header(request.headers, 'authorization') ?? '';
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization.trim());
    if (m === null) return authorization === '' ? 'the request is not signed' : `only ${ALGORITHM} signatures are accepted`;
    [credential, signedHeaders, signature] = [m[1] as string, m[2] as string, m[3] as string];
    amzDate = header(request.headers, 'x-amz-date');
    const declared = header(request.headers, 'x-amz-content-sha256');
    if (payloadHash !== undefined) hashed = payloadHash;
    else if (declared !== undefined) hashed = declared;
    else return 'the request declares no x-amz-content-sha256';
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return 'the request has no valid X-Amz-Date';
  if (!presigned && Math.abs(signedAt.getTime() - now.getTime()) > SKEW_MS) return 'the request was signed more than 15 minutes from now';
  if (presigned && signedAt.getTime() - now.getTime() > SKEW_MS) return 'the presigned URL was signed in the future';
  const [keyId, day, region, service, terminator, ...rest] = credential.split('/');
  if (rest.length > 0 || terminator !== 'aws4_request' || !day || !region || !service) return 'the credential scope is malformed';
  if (keyId !== credentials.accessKeyId) return 'the access key is not this stack\'s';
  if (day !== amzDate?.slice(0, 8)) return 'the credential scope is not of the signing day';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || names.some((name) => name !== name.toLowerCase())) return 'the signed headers must include host';
  const canonicalHeaders = names.map((name) => `${name}:${(header(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalQuery = canonicalPairs
    .map(([name, value]) => [encode(name), encode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [request.method.toUpperCase(), path, canonicalQuery, canonicalHeaders, signedHeaders, hashed].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), 'aws4_request');
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(signature) ? signature : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match';
  return undefined;
}

/**
 * Whether an S3 request's bucket or key (path-style: /bucket/key) holds a `.` or `..` segment, in
 * any spelling: a file-system store would take it for a way out of its directory.
 */
export function keyEscapes(url: string): boolean {
  const cut = url.indexOf('?');
  const path = cut < 0 ? url : url.slice(0, cut);
  return path
    .split('/')
    .slice(1)
    .some((segment) => {
      const plain = decode(segment);
      return plain === '.' || plain === '..' || plain.includes('/') || plain.includes('\\') || plain.includes('\0');
    });
}
