/**
 * An http(s) input reaches only public addresses: each address class, each spelling a URL parser
 * turns into a loopback address, a name that resolves to one, and a redirect to one are refused before
 * any connection; an operator's allowance lets named hosts or networks through.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressAllowed, ForbiddenAddressError, parseAllowance, publicGet } from './public-fetch.js';

const none = parseAllowance('');

describe('which addresses are public', () => {
  it.each([
    ['127.0.0.1', false], ['127.8.9.10', false], ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.168.1.1', false],
    ['100.64.0.1', false], ['169.254.169.254', false], ['169.254.170.2', false], ['0.0.0.0', false], ['224.0.0.1', false],
    ['255.255.255.255', false], ['192.0.2.1', false], ['198.18.0.1', false],
    ['::', false], ['::1', false], ['::ffff:127.0.0.1', false], ['::ffff:8.8.8.8', false], ['64:ff9b::7f00:1', false], ['fe80::1', false],
    ['fc00::1', false], ['fd12:3456::1', false], ['ff02::1', false], ['2002:7f00:1::', false],
    ['8.8.8.8', true], ['1.1.1.1', true], ['172.32.0.1', true], ['2606:4700:4700::1111', true],
  ] as const)('%s: %s', (address, expected) => {
    expect(addressAllowed(address, none)).toBe(expected);
  });

  it('lets through what the operator allows, and reads their list strictly', () => {
    const allowance = parseAllowance('10.20.0.0/16, 192.0.2.7 ,files.internal.example');
    expect(addressAllowed('10.20.3.4', allowance)).toBe(true);
    expect(addressAllowed('10.21.3.4', allowance)).toBe(false);
    expect(addressAllowed('192.0.2.7', allowance)).toBe(true);
    expect(allowance.hosts).toEqual(['files.internal.example']);
    for (const bad of ['10.0.0.0/8/1', 'http://x', 'a b', 'host/24']) expect(() => parseAllowance(bad), bad).toThrow(/TES_HTTP_INPUT_ALLOW/);
  });
});

describe('fetching an input a task named', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect-to-loopback') res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` }).end();
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else if (req.url === '/stall') res.writeHead(200).write('x');
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['loopback', (p: number) => `http://127.0.0.1:${p}/secret`],
    ['decimal', (p: number) => `http://2130706433:${p}/secret`],
    ['hex', (p: number) => `http://0x7f.1:${p}/secret`],
    ['octal', (p: number) => `http://0177.0.0.1:${p}/secret`],
    ['IPv6 loopback', (p: number) => `http://[::1]:${p}/secret`],
    ['IPv4-mapped IPv6', (p: number) => `http://[::ffff:127.0.0.1]:${p}/secret`],
    ['unspecified', (p: number) => `http://0.0.0.0:${p}/secret`],
    ['a name that resolves to loopback', (p: number) => `http://localhost:${p}/secret`],
    ['the instance metadata endpoint', () => 'http://169.254.169.254/latest/meta-data/'],
    ['the ECS credentials endpoint', () => 'http://169.254.170.2/v2/credentials'],
  ])('refuses %s before connecting', async (_form, url) => {
    const before = hits.length;
    await expect(publicGet(url(port), { allowance: none })).rejects.toBeInstanceOf(ForbiddenAddressError);
    expect(hits.length).toBe(before);
  });

  it('checks every redirect again', async () => {
    // localhost is allowed by name; where it redirects to is not.
    const allowance = parseAllowance('localhost');
    await expect(publicGet(`http://localhost:${port}/redirect-to-loopback`, { allowance })).rejects.toThrow(/127\.0\.0\.1 is not a public address/);
    expect(hits).not.toContain('/secret');
  });

  it('follows at most five redirects', async () => {
    await expect(publicGet(`http://localhost:${port}/loop`, { allowance: parseAllowance('localhost') })).rejects.toThrow('more than 5 redirects');
  });

  it('refuses credentials in the URL and schemes other than http and https', async () => {
    await expect(publicGet(`http://user:pw@localhost:${port}/`, { allowance: parseAllowance('localhost') })).rejects.toThrow(/credentials/);
    await expect(publicGet('file:///etc/passwd', { allowance: none })).rejects.toThrow(/file: URLs are not fetched/);
  });

  it('fails an answer that stops coming', async () => {
    const response = await publicGet(`http://localhost:${port}/stall`, { allowance: parseAllowance('localhost'), idleTimeoutMs: 300 });
    await expect(
      new Promise((resolve, reject) => {
        response.on('error', reject);
        response.on('end', resolve);
        response.resume();
      }),
    ).rejects.toThrow(/no data for 0.3 s/);
  });

  it('fetches from an allowed host', async () => {
    const response = await publicGet(`http://localhost:${port}/ok`, { allowance: parseAllowance('localhost') });
    expect(response.statusCode).toBe(200);
    response.resume();
  });
});
