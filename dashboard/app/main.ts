/**
 * The dashboard. Primary course: read config.json, finish or offer sign-in as it says, then show the
 * task list (`#/`) or one task (`#/tasks/<id>`), asking the API with the caller's token only. The
 * API decides what the caller may see; the page keeps nothing beyond this tab's session.
 */
import { DASHBOARD_AUTH_MODES, type DashboardAuth, type DashboardConfig } from '../site.js';
import { ApiError, TesClient } from './api.js';
import { beginSignIn, completeSignIn, currentSession, forget, signOut, usePastedToken, whoIs } from './auth.js';
import { detailView } from './detail.js';
import { byId, h } from './dom.js';
import { listView } from './list.js';
import { messageOf, type View, type ViewContext } from './view.js';

async function readConfig(): Promise<DashboardConfig> {
  const response = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = (await response.json()) as Partial<DashboardConfig>;
  if (typeof config.apiUrl !== 'string' || !DASHBOARD_AUTH_MODES.includes(config.auth as DashboardAuth)) {
    throw new Error('config.json needs apiUrl and auth (none, token or oidc)');
  }
  if (config.auth === 'oidc' && typeof config.clientId !== 'string') throw new Error('config.json: auth oidc needs a clientId');
  return config as DashboardConfig;
}

function signInView(main: HTMLElement, config: DashboardConfig, reason?: string): void {
  const problem = h('p', { class: 'status error', id: 'sign-in-problem', role: 'alert' }, reason);
  const token = h('textarea', { id: 'token', name: 'token', rows: '4', spellcheck: 'false', autocomplete: 'off', placeholder: 'eyJ…' });
  const paste = h(
    'form',
    { id: 'paste-token', class: 'paste' },
    h('label', { for: 'token' }, 'Bearer token'),
    token,
    config.auth === 'token' ? h('p', { class: 'muted' }, 'With the local stack (TES_AUTH=jwt), npm run token -- <user> prints one.') : undefined,
    h('button', { type: 'submit' }, 'Use this token'),
  );
  paste.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      usePastedToken(token.value);
      // A fresh page: nothing of whoever used this tab before is left in memory.
      location.reload();
    } catch (error) {
      problem.textContent = messageOf(error);
    }
  });
  const parts: HTMLElement[] = [h('h1', {}, 'Sign in'), problem];
  if (config.auth === 'oidc') {
    const button = h('button', { type: 'button', id: 'sign-in' }, 'Sign in');
    button.addEventListener('click', () => {
      beginSignIn(config).catch((error: unknown) => (problem.textContent = `Could not start signing in: ${messageOf(error)}`));
    });
    parts.push(h('p', {}, button), h('details', {}, h('summary', {}, 'or paste a bearer token'), paste));
  } else {
    parts.push(paste);
  }
  main.replaceChildren(...parts);
}

async function start(): Promise<void> {
  const main = byId('main');
  let config: DashboardConfig;
  try {
    config = await readConfig();
  } catch (error) {
    main.replaceChildren(h('p', { class: 'status error' }, `The dashboard is not configured: ${messageOf(error)}`));
    return;
  }
  let reason: string | undefined;
  if (config.auth === 'oidc') {
    try {
      await completeSignIn(config);
    } catch (error) {
      // A sign-in answer that fails ends whatever session this tab had: the user sees why and signs in afresh.
      forget();
      reason = `Signing in failed: ${messageOf(error)}`;
    }
  }
  const signedIn = () => config.auth === 'none' || currentSession() !== undefined;
  if (!signedIn()) {
    signInView(main, config, reason);
    return;
  }
  const session = currentSession();
  const who = byId('who');
  const signOutButton = byId<HTMLButtonElement>('sign-out');
  if (session !== undefined) {
    who.textContent = whoIs(session.token) ?? 'signed in';
    signOutButton.hidden = false;
    signOutButton.addEventListener('click', () => void signOut(config));
  }
  const client = new TesClient(config.apiUrl, () => currentSession()?.token);
  let view: View | undefined;
  const leave = (why: string) => {
    view?.dispose();
    view = undefined;
    forget();
    who.textContent = '';
    signOutButton.hidden = true;
    signInView(main, config, why);
  };
  const context: ViewContext = {
    client,
    main,
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    refusedToken: (error) => {
      if (!(error instanceof ApiError) || error.status !== 401) return false;
      leave(config.auth === 'none' ? 'The API asks for a token, but this dashboard is set up without sign-in.' : 'The API refused the token (expired, or not for this service): sign in again.');
      return true;
    },
  };
  const route = () => {
    if (!signedIn()) {
      leave('The session has ended: sign in again.');
      return;
    }
    view?.dispose();
    const hash = location.hash.replace(/^#/, '');
    const at = hash.indexOf('?');
    const path = at < 0 ? hash : hash.slice(0, at);
    const id = /^\/tasks\/([^/]+)$/.exec(path)?.[1];
    let taskId: string | undefined;
    try {
      taskId = id === undefined ? undefined : decodeURIComponent(id);
    } catch {
      taskId = undefined;
    }
    view = taskId === undefined ? listView(context, new URLSearchParams(at < 0 ? '' : hash.slice(at + 1))) : detailView(context, taskId);
  };
  window.addEventListener('hashchange', route);
  route();
}

void start();
