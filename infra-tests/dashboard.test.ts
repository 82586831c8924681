/**
 * The dashboard in a real browser: headless Chromium (puppeteer-core) against the local stack as
 * `npm start` runs it, which builds the page and serves it at `/`. Tasks are made through the API;
 * what the page shows of them is asserted in the browser: the list and its states, filters and
 * paging, a running task's output as it grows, outputs, system logs and cost of a finished one,
 * cancel, HTML in a task shown as text, and with TES_AUTH=jwt each user's own tasks only. Every page
 * must end with no console error, CSP violation or dialog. Screenshots go to test-artifacts/dashboard/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_HEADERS, dashboardCsp, type DashboardConfig } from '../dashboard/site.js';
import type { TesTask } from '../lambdas/domain/tes.js';
import { localIssuer } from '../lambdas/local/local-issuer.js';
import { issuerKeyFile } from '../lambdas/local/stack.js';
import { REPO } from './support/npm-start.js';
import { startStackProcess, type StackProcess } from './support/stack-process.js';
import { RUN_ID, task, TERMINAL_STATES } from './support/tasks.js';
import { ensureTestImage, TEST_IMAGE, TEST_IMAGE_PREFIXES } from './support/test-image.js';

// The functions handed to the page run in the browser. This file is compiled without the DOM
// library, so they are typed with the few members of it they use.
interface PageElement {
  textContent: string | null;
  value: string;
  hidden: boolean;
  disabled: boolean;
  open: boolean;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  addEventListener(type: 'securitypolicyviolation', listener: (event: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare const sessionStorage: { length: number };

const CHROMIUM = process.env['PUPPETEER_EXECUTABLE_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts', 'dashboard');

interface Stack {
  process: StackProcess;
  /** The dashboard, e.g. http://127.0.0.1:40123/ */
  root: string;
  api: string;
  dataDir: string;
}

let browser: Browser;
let open: Stack;
let guarded: Stack;
const dirs: string[] = [];
const screenshots: string[] = [];
/** The tasks made before the tests, by what they are for. */
const made: Record<'live' | 'done' | 'broken' | 'xss', string> = { live: '', done: '', broken: '', xss: '' };
const pageTasks: string[] = [];

const XSS_NAME = '<img src=x onerror=alert(1)>';
const XSS_STDOUT = '<script>alert(2)</script><b>bold</b>';
const OUTPUT_URL = `s3://tes-local/users/local/${RUN_ID}/out.txt`;

async function startStack(env: Record<string, string>): Promise<Stack> {
  // The stack's scratch space (TMPDIR) must be passable for the tasks' own uids, as in faults.test.ts.
  const base = await mkdtemp(join(tmpdir(), 'tes-dashboard-'));
  dirs.push(base);
  await chmod(base, 0o711);
  const dataDir = join(base, 'data');
  const tmpDir = join(base, 'tmp');
  await mkdir(tmpDir, { mode: 0o711 });
  await chmod(tmpDir, 0o711);
  const started = await startStackProcess({ dataDir, tmpDir, env: { TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES, ...env } });
  const root = /dashboard: (http:\/\/\S+\/)/.exec(started.output())?.[1];
  if (root === undefined) throw new Error(`npm start named no dashboard URL:\n${started.output()}`);
  const runtime = /tasks run in: (\w+)/.exec(started.output())?.[1];
  if (runtime === 'podman' || runtime === 'docker') await ensureTestImage(runtime);
  return { process: started, root, api: started.url, dataDir };
}

async function call<T>(stack: Stack, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.api}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function create(stack: Stack, body: TesTask, token?: string): Promise<string> {
  const reply = await call<{ id: string }>(stack, 'POST', '/tasks', body, token);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.id;
}

async function until(stack: Stack, id: string, done: (task: TesTask) => boolean, what: string, token?: string): Promise<TesTask> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await call<TesTask>(stack, 'GET', `/tasks/${id}?view=FULL`, undefined, token);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`task ${id} is not ${what} after 30 s: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const terminal = (t: TesTask) => TERMINAL_STATES.includes(t.state ?? '');

interface Tab {
  page: Page;
  /** Console errors and warnings, CSP violations, uncaught errors, dialogs and failed requests seen so far. */
  problems: string[];
}

/** A page in its own browser context (its own sessionStorage), watched for anything that goes wrong. */
async function tab(context?: BrowserContext): Promise<Tab> {
  const page = await (context ?? (await browser.createBrowserContext())).newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${String(error)}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog ${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('requestfailed', (request) => {
    // A poll cut short by leaving the page is not a failure.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));
  });
  return { page, problems };
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

const texts = (page: Page, selector: string): Promise<string[]> =>
  page.evaluate((s) => Array.from(document.querySelectorAll(s), (e) => e.textContent ?? ''), selector);

const text = async (page: Page, selector: string): Promise<string> => (await texts(page, selector)).join('\n');

/** Waits until the list's rows name exactly these tasks, in this order. */
async function rowsAre(page: Page, ids: string[]): Promise<void> {
  await page
    .waitForFunction((want: string) => Array.from(document.querySelectorAll('#tasks tbody tr td.id'), (e) => e.textContent).join(',') === want, { timeout: 15_000 }, ids.join(','))
    .catch(async (error: unknown) => {
      throw new Error(`the list shows ${JSON.stringify(await texts(page, '#tasks tbody tr td.id'))}, not ${JSON.stringify(ids)}`, { cause: error });
    });
}

/** Waits until an element's text matches. */
async function textMatches(page: Page, selector: string, pattern: RegExp): Promise<void> {
  await page
    .waitForFunction(
      (s: string, source: string, flags: string) => new RegExp(source, flags).test(Array.from(document.querySelectorAll(s), (e) => e.textContent).join('\n')),
      { timeout: 20_000 },
      selector,
      pattern.source,
      pattern.flags,
    )
    .catch(async (error: unknown) => {
      throw new Error(`${selector} reads ${JSON.stringify(await text(page, selector))}, which does not match ${pattern}`, { cause: error });
    });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or name one in PUPPETEER_EXECUTABLE_PATH`);
  }
  await mkdir(ARTIFACTS, { recursive: true });
  [open, guarded, browser] = await Promise.all([
    startStack({}),
    startStack({ TES_AUTH: 'jwt' }),
    puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] }),
  ]);
  const sh = (script: string) => [{ image: TEST_IMAGE, command: ['sh', '-c', script] }];
  // Five quick tasks to page through, oldest first.
  for (let i = 0; i < 5; i += 1) pageTasks.push(await create(open, task({ name: `page-${RUN_ID}-${i}`, tags: { batch: RUN_ID } })));
  // One after another, so that the list's order (newest first) is known.
  made.live = await create(open, task({ name: `live-${RUN_ID}`, executors: sh('i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done') }));
  made.done = await create(
      open,
      task({
        name: `done-${RUN_ID}`,
        executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo hello dashboard; printf "hello dashboard\\n" > /data/out.txt; echo a warning >&2'], workdir: '/data' }],
        outputs: [{ name: 'greeting', path: '/data/out.txt', url: OUTPUT_URL, type: 'FILE' }],
        // Not a parameter this service knows: dropped, with a line in the system logs saying so.
        resources: { backend_parameters: { dashboard_test_knob: '1' } },
        tags: { project: RUN_ID },
      }),
    );
  made.broken = await create(
      open,
      task({
        name: `broken-${RUN_ID}`,
        inputs: [{ name: 'missing', path: '/data/in.txt', url: `s3://tes-local/users/local/${RUN_ID}/missing.txt`, type: 'FILE' }],
      }),
    );
  made.xss = await create(
      open,
      task({
        name: XSS_NAME,
        description: '<script>alert(3)</script>',
        executors: sh(`echo '${XSS_STDOUT}'; echo '<img src=x onerror=alert(4)>' >&2`),
        tags: { '<b>key</b>': '<i onmouseover=alert(5)>value</i>' },
      }),
    );
  await Promise.all([...pageTasks, made.done, made.broken, made.xss].map((id) => until(open, id, terminal, 'ended')));
  await until(open, made.live, (t) => t.state === 'RUNNING' && (t.logs?.[0]?.logs[0]?.stdout ?? '').includes('tick'), 'running with output');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([open?.process.stop(), guarded?.process.stop()]);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  if (screenshots.length > 0) console.log(`dashboard screenshots:\n${screenshots.map((path) => `  ${path}`).join('\n')}`);
}, 60_000);

describe('npm start serves the dashboard', () => {
  it('at / with its CSP and safe headers, and a config.json pointing at its own API', async () => {
    for (const path of ['', 'index.html', 'app.js', 'app.css', 'icon.svg', 'config.json']) {
      const response = await fetch(`${open.root}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-security-policy'), path).toMatch(/^default-src 'self'; .*frame-ancestors 'none'/);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    expect(await (await fetch(`${open.root}config.json`)).json()).toEqual({ apiUrl: '/ga4gh/tes/v1', auth: 'none' });
    expect(await (await fetch(`${guarded.root}config.json`)).json()).toEqual({ apiUrl: '/ga4gh/tes/v1', auth: 'token' });
  });

  it('and leaves every other path to the API, as before', async () => {
    for (const [method, path] of [['GET', 'nothing-here'], ['GET', 'app.js.map'], ['POST', ''], ['GET', '/index.html'], ['GET', 'dashboard/index.html']] as const) {
      const response = await fetch(`${open.root}${path}`, { method });
      expect(response.status, `${method} /${path}`).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe('NOT_FOUND');
    }
    const info = await fetch(`${open.api}/service-info`);
    expect(info.status).toBe(200);
    expect(info.headers.get('content-security-policy')).toBeNull();
  });

  it('attack: serves no file beside its own, whatever the spelling of the path (sent raw, as no browser would)', async () => {
    const { hostname, port } = new URL(open.root);
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const paths = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/app.js/..%2f..%2f..%2fpackage.json',
      '/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/./index.html',
      '/index.html%00',
      '/config.json/',
      '/main.mjs',
      '/s3-process.mjs',
      '/dashboard/app.js',
    ];
    for (const path of paths) {
      const { status, body } = await raw(path);
      expect(status, path).toBe(404);
      expect(body, path).not.toMatch(/serverless-tes|root:x:0|<html|tes-local/);
    }
  });
});

describe('the task list', () => {
  it('shows tasks with their states, newest first', async () => {
    const { page, problems } = await tab();
    await page.goto(`${open.root}#/?tag=run%3D${RUN_ID}`);
    await rowsAre(page, [made.xss, made.broken, made.done, made.live, ...[...pageTasks].reverse()]);
    const states = await page.evaluate(() => Array.from(document.querySelectorAll('#tasks tbody tr td:first-child'), (e) => e.textContent));
    expect(states).toEqual(['COMPLETE', 'SYSTEM_ERROR', 'COMPLETE', 'RUNNING', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect(await texts(page, '#tasks tbody tr td.name')).toContain(`live-${RUN_ID}`);
    await shoot(page, 'list');
    expect(problems).toEqual([]);
  });

  it('pages through a filtered list with Next and Previous', async () => {
    const { page, problems } = await tab();
    await page.goto(`${open.root}#/?tag=batch%3D${RUN_ID}&size=2`);
    const [p0, p1, p2, p3, p4] = pageTasks as [string, string, string, string, string];
    await rowsAre(page, [p4, p3]);
    expect(await page.evaluate(() => document.querySelector('#previous')?.disabled)).toBe(true);
    await page.click('#next');
    await rowsAre(page, [p2, p1]);
    await page.click('#next');
    await rowsAre(page, [p0]);
    await page.waitForFunction(() => document.querySelector('#next')?.disabled === true && document.querySelector('#previous')?.disabled === false);
    expect(await text(page, '#page')).toBe('page 3');
    await page.click('#previous');
    await rowsAre(page, [p2, p1]);
    expect(problems).toEqual([]);
  });

  it('filters by state and name prefix through its form', async () => {
    const { page, problems } = await tab();
    await page.goto(open.root);
    await page.waitForSelector('#tasks tbody tr');
    await page.select('#filter-state', 'RUNNING');
    await page.type('#filter-name', `live-${RUN_ID}`);
    await page.click('#filters button[type=submit]');
    await rowsAre(page, [made.live]);
    expect(page.url()).toContain(`#/?state=RUNNING&name=live-${RUN_ID}`);
    await page.select('#filter-state', 'COMPLETE');
    await page.click('#filters button[type=submit]');
    await page.waitForSelector('#tasks tbody td.empty');
    expect(await text(page, '#tasks tbody')).toBe('No tasks match.');
    expect(problems).toEqual([]);
  });
});

describe('a task', () => {
  it('running: shows its executor and a stdout tail that grows, and cancels from the page after confirmation', async () => {
    const { page, problems } = await tab();
    await page.goto(`${open.root}#/tasks/${made.live}`);
    await textMatches(page, '#task-state', /^RUNNING$/);
    expect(await text(page, '#executor-0 dd')).toContain(TEST_IMAGE);
    expect(await text(page, '#executor-0 pre.command')).toBe(`sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done'`);
    expect(await text(page, '#executor-0 .live')).toContain('live');
    await textMatches(page, 'pre[data-key="0-0-stdout"]', /tick \d+/);
    const ticks = (await text(page, 'pre[data-key="0-0-stdout"]')).match(/tick (\d+)/g) ?? [];
    const last = Number(ticks.at(-1)?.split(' ')[1]);
    // The page polls: a later tick shows up without a reload.
    await page.waitForFunction(
      (seen: number) => Math.max(...Array.from((document.querySelector('pre[data-key="0-0-stdout"]')?.textContent ?? '').matchAll(/tick (\d+)/g), (m) => Number(m[1]))) > seen,
      { timeout: 15_000 },
      last,
    );
    await shoot(page, 'detail-running');

    expect(await page.evaluate(() => document.querySelector('#cancel')?.hidden)).toBe(false);
    await page.click('#cancel');
    await page.waitForFunction(() => document.querySelector('#confirm')?.open === true);
    expect(await text(page, '#confirm-text')).toContain(`live-${RUN_ID}`);
    await page.click('#confirm-ok');
    await textMatches(page, '#task-state', /^CANCELED$/);
    expect(await page.evaluate(() => document.querySelector('#cancel')?.hidden)).toBe(true);
    expect((await call<TesTask>(open, 'GET', `/tasks/${made.live}`)).body.state).toBe('CANCELED');
    expect(problems).toEqual([]);
  });

  it('finished: shows its log with exit code, outputs and the files uploaded, system logs, cost and tags; no cancel', async () => {
    const { page, problems } = await tab();
    await page.goto(`${open.root}#/tasks/${made.done}`);
    await textMatches(page, '#task-state', /^COMPLETE$/);
    expect(await text(page, 'pre[data-key="0-0-stdout"]')).toBe('hello dashboard\n');
    expect(await text(page, 'pre[data-key="0-0-stderr"]')).toBe('a warning\n');
    expect(await text(page, '#executor-0 .executor-log dl')).toMatch(/exit code0/);
    expect(await text(page, '#executor-0 dl')).toContain('workdir/data');
    expect(await text(page, '#outputs-table')).toContain(OUTPUT_URL);
    expect(await texts(page, '#output-files tbody td')).toEqual(['/data/out.txt', OUTPUT_URL, '16 B']);
    expect(await text(page, '#system-logs pre')).toContain('dashboard_test_knob');
    expect(await text(page, '#cost-summary')).toMatch(/estimated\$0\.\d+ \(USD\)pricesus-east-1 list prices/);
    expect(await text(page, '#metadata-table')).toContain('estimated_cost_usd');
    expect(await texts(page, '#tags li')).toEqual(expect.arrayContaining([`project=${RUN_ID}`, `run=${RUN_ID}`]));
    expect(await page.evaluate(() => document.querySelector('#cancel')?.hidden)).toBe(true);
    await shoot(page, 'detail-finished');
    expect(problems).toEqual([]);
  });

  it('that could not stage its input: names it in the system logs', async () => {
    const { page, problems } = await tab();
    await page.goto(`${open.root}#/tasks/${made.broken}`);
    await textMatches(page, '#task-state', /^SYSTEM_ERROR$/);
    expect(await text(page, '#system-logs pre')).toContain('missing.txt');
    expect(await text(page, '#inputs-table')).toContain(`s3://tes-local/users/local/${RUN_ID}/missing.txt`);
    expect(problems).toEqual([]);
  });

  it('with HTML in its name, description, output and tags: shows it as text, and nothing of it runs', async () => {
    const { page, problems } = await tab();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    await page.goto(`${open.root}#/?name=${encodeURIComponent('<img')}`);
    await rowsAre(page, [made.xss]);
    expect(await texts(page, '#tasks tbody td.name')).toEqual([XSS_NAME]);
    await page.click(`#tasks tbody td.name a`);
    await textMatches(page, '#task-state', /^COMPLETE$/);
    expect(await text(page, '#task-name')).toBe(XSS_NAME);
    expect(await text(page, '#summary')).toContain('<script>alert(3)</script>');
    expect(await text(page, 'pre[data-key="0-0-stdout"]')).toBe(`${XSS_STDOUT}\n`);
    expect(await text(page, 'pre[data-key="0-0-stderr"]')).toBe('<img src=x onerror=alert(4)>\n');
    expect(await texts(page, '#tags li')).toContain('<b>key</b>=<i onmouseover=alert(5)>value</i>');
    // No element came from the task's text: no image, no bold, no italics, only the page's own script.
    expect(await page.evaluate(() => ['img', 'b', 'i', 'script'].map((tag) => document.querySelectorAll(tag).length))).toEqual([0, 0, 0, 1]);
    expect(requested.filter((path) => path.endsWith('/x'))).toEqual([]);
    await shoot(page, 'xss');
    expect(problems).toEqual([]);
  });
});

describe('with TES_AUTH=jwt', () => {
  it("asks for a token, shows each user only their own tasks, and keeps nothing of one user's for the next", async () => {
    const issuer = await localIssuer(issuerKeyFile(guarded.dataDir));
    const [alice, bob] = await Promise.all([issuer.issue('alice'), issuer.issue('bob')]);
    const [aliceTask, bobTask] = await Promise.all([create(guarded, task({ name: `alice-${RUN_ID}` }), alice), create(guarded, task({ name: `bob-${RUN_ID}` }), bob)]);
    const { page, problems } = await tab();
    const signIn = async (token: string) => {
      await page.waitForSelector('#paste-token');
      await page.evaluate((value: string) => {
        const field = document.querySelector('#token');
        if (field !== null) field.value = value;
      }, token);
      await Promise.all([page.waitForNavigation(), page.click('#paste-token button[type=submit]')]);
    };

    await page.goto(guarded.root);
    await signIn(alice);
    await rowsAre(page, [aliceTask]);
    expect(await text(page, '#who')).toBe('alice');
    await page.goto(`${guarded.root}#/tasks/${bobTask}`);
    await textMatches(page, '#task p.empty', /no task with this id that you may see/);
    // That 404 is the API's answer, which Chromium logs; nothing else may have gone wrong.
    expect(problems.filter((p) => !/404 \(Not Found\)/.test(p))).toEqual([]);
    problems.length = 0;

    await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
    await page.waitForSelector('#paste-token');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(bob);
    await rowsAre(page, [bobTask]);
    expect(await text(page, '#who')).toBe('bob');
    expect(await text(page, 'main')).not.toContain(`alice-${RUN_ID}`);
    expect(problems).toEqual([]);
  });

  it('sends a refused token back to sign-in, saying why', async () => {
    const { page, problems } = await tab();
    await page.goto(guarded.root);
    await page.waitForSelector('#paste-token');
    await page.evaluate(() => {
      const field = document.querySelector('#token');
      if (field !== null) field.value = 'not.a-valid.token';
    });
    await Promise.all([page.waitForNavigation(), page.click('#paste-token button[type=submit]')]);
    await textMatches(page, '#sign-in-problem', /The API refused the token/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(problems.filter((p) => !/401 \(Unauthorized\)/.test(p))).toEqual([]);
  });
});

/**
 * An OpenID Connect issuer as far as the dashboard sees one: an authorize endpoint that sends the
 * browser back with a code (or, when told to, with a state of its own), a token endpoint that trades
 * a code once for a token of the local issuer, only with the verifier whose S256 challenge came with
 * it, and a logout endpoint that sends the browser back.
 */
async function stubIssuer(token: () => Promise<string>) {
  const seen = { authorize: [] as URLSearchParams[], token: [] as URLSearchParams[], logout: [] as URLSearchParams[], verified: 0, tamper: false };
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://stub');
      if (url.pathname === '/authorize') {
        seen.authorize.push(url.searchParams);
        const code = randomBytes(12).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '', clientId: url.searchParams.get('client_id') ?? '' });
        const back = new URL(url.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', seen.tamper ? 'not-the-state-it-sent' : (url.searchParams.get('state') ?? ''));
        response.writeHead(302, { location: back.href }).end();
      } else if (url.pathname === '/token' && request.method === 'POST') {
        let body = '';
        for await (const chunk of request) body += String(chunk);
        const form = new URLSearchParams(body);
        seen.token.push(form);
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        const good = issued !== undefined && form.get('grant_type') === 'authorization_code' && issued.challenge === challenge && issued.redirectUri === form.get('redirect_uri') && issued.clientId === form.get('client_id');
        if (good) seen.verified += 1;
        response.writeHead(good ? 200 : 400, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
        response.end(JSON.stringify(good ? { access_token: await token(), token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_grant' }));
      } else if (url.pathname === '/logout') {
        seen.logout.push(url.searchParams);
        response.writeHead(302, { location: url.searchParams.get('logout_uri') ?? '/' }).end();
      } else {
        response.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * The dashboard as a deployment signing in with that issuer serves it: the page npm start built,
 * with the config.json and the CSP the CDK construct gives such a deployment (dashboard/site.ts),
 * and the API behind the same origin.
 */
async function deployment(stack: Stack, config: Omit<DashboardConfig, 'apiUrl'>, connectTo: string[]) {
  const csp = dashboardCsp(connectTo);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = (request.url ?? '/').replace(/\?.*$/s, '');
      if (path === '/config.json') {
        response.writeHead(200, { ...DASHBOARD_HEADERS, 'content-security-policy': csp, 'content-type': 'application/json' });
        response.end(JSON.stringify({ apiUrl: '/ga4gh/tes/v1', ...config }));
        return;
      }
      const authorization = request.headers.authorization;
      const upstream = await fetch(new URL(request.url ?? '/', stack.root), { method: request.method ?? 'GET', headers: authorization === undefined ? {} : { authorization } });
      const headers = Object.fromEntries([...upstream.headers].filter(([name]) => ['content-type', ...Object.keys(DASHBOARD_HEADERS)].includes(name)));
      response.writeHead(upstream.status, path.startsWith('/ga4gh/') ? headers : { ...headers, 'content-security-policy': csp });
      response.end(Buffer.from(await upstream.arrayBuffer()));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { root: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('signing in with OpenID Connect', () => {
  it('goes to the issuer with PKCE (S256) and a state, trades the code with the verifier, calls the API with the token, and signs out at the issuer', async () => {
    const issuer = await localIssuer(issuerKeyFile(guarded.dataDir));
    const carolTask = await create(guarded, task({ name: `carol-${RUN_ID}` }), await issuer.issue('carol'));
    const stub = await stubIssuer(() => issuer.issue('carol'));
    const site = await deployment(
      guarded,
      { auth: 'oidc', issuer: stub.origin, clientId: 'tes-dashboard', authorizeUrl: `${stub.origin}/authorize`, tokenUrl: `${stub.origin}/token`, logoutUrl: `${stub.origin}/logout` },
      [stub.origin],
    );
    try {
      const { page, problems } = await tab();
      await page.goto(site.root);
      await page.waitForSelector('#sign-in');
      await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
      await rowsAre(page, [carolTask]);
      expect(await text(page, '#who')).toBe('carol');
      const asked = stub.seen.authorize[0] as URLSearchParams;
      expect(Object.fromEntries([...asked].filter(([key]) => !['state', 'code_challenge'].includes(key)))).toEqual({
        response_type: 'code',
        client_id: 'tes-dashboard',
        redirect_uri: site.root,
        scope: 'openid',
        code_challenge_method: 'S256',
      });
      expect(asked.get('state')).toMatch(/^[\w-]{22,}$/);
      expect(asked.get('code_challenge')).toMatch(/^[\w-]{43}$/);
      expect(stub.seen.verified).toBe(1);
      // The code is gone from the address bar, and the token lives in this tab's sessionStorage only.
      expect(page.url()).toBe(site.root);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(1);

      await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
      await page.waitForSelector('#sign-in');
      expect(Object.fromEntries(stub.seen.logout[0] ?? [])).toEqual({ client_id: 'tes-dashboard', logout_uri: site.root });
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

      // An answer carrying a state this tab did not send is refused before any code is traded.
      stub.seen.tamper = true;
      await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
      await textMatches(page, '#sign-in-problem', /does not belong to a sign-in started in this tab/);
      expect(stub.seen.token.length).toBe(1);
      expect(page.url()).toBe(site.root);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await Promise.all([stub.close(), site.close()]);
    }
  });
});
