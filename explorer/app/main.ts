/**
 * The explorer's entry: reads the pins kept in this browser, finds the directory (the page's own origin
 * when it serves one, else the URL the person set or the pins' server), compares the server's
 * `/v1/config` with the pins, then shows the view the location's hash names:
 * `#/lookup/<provider>/<account>`, `#/directory`, `#/watch`, `#/trust`, `#/about`. Links can be shared.
 * Without usable pins only the trust and about views are offered.
 */
import { accountView } from './account-view.js';
import { aboutView } from './about-view.js';
import { directoryView } from './directory-view.js';
import { h, mount } from './dom.js';
import { openSession, type Session } from './session.js';
import { directoryUrl, loadPins } from './trust.js';
import { trustBanner, trustView, type TrustContext } from './trust-view.js';
import { runDueChecks, watchView } from './watch-view.js';

async function readConfig(server: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${server}/v1/config`, { headers: { Accept: 'application/json' } });
    if (res.status !== 200) return undefined;
    const json = await res.json();
    return typeof json?.origin === 'string' ? json : undefined;
  } catch {
    return undefined;
  }
}

async function trustContext(restart: () => void): Promise<TrustContext> {
  const t: TrustContext = { restart };
  try {
    t.kept = loadPins(localStorage);
  } catch (e) {
    t.keptError = (e as Error).message;
  }
  const own =
    location.protocol === 'http:' || location.protocol === 'https:' ? await readConfig(location.origin) : undefined;
  t.ownOrigin = own ? location.origin : undefined;
  t.server = directoryUrl(t.kept, t.ownOrigin);
  t.config = t.server === t.ownOrigin ? own : t.server ? await readConfig(t.server) : undefined;
  return t;
}

function route(main: HTMLElement, t: TrustContext, session: Session | undefined): void {
  const [view, ...args] = location.hash.replace(/^#\/?/, '').split('/');
  if (view === 'about') return aboutView(main);
  if (view === 'trust' || !session) return trustView(main, t);
  if (view === 'directory') return void directoryView(main, session);
  if (view === 'watch') return watchView(main, session);
  const [provider, account] = args.map((a) => {
    try {
      return decodeURIComponent(a);
    } catch {
      return '';
    }
  });
  void accountView(main, session, provider, account);
}

function markCurrent(): void {
  const view = location.hash.replace(/^#\/?/, '').split('/')[0] || 'lookup';
  document.querySelectorAll('nav a').forEach((a) => {
    if (a.getAttribute('href') === `#/${view}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

async function start(): Promise<void> {
  const main = document.getElementById('main')!;
  const banner = document.getElementById('trust-banner')!;
  const t = await trustContext(() => location.reload());
  let session: Session | undefined;
  try {
    session = t.kept && t.server ? openSession(t.kept, t.server) : undefined;
  } catch (e) {
    t.keptError = (e as Error).message; // only the trust view, from which the pins can be replaced
  }
  if (session) session.config = t.config;
  mount(banner, trustBanner(t));
  const show = (focus: boolean) => {
    markCurrent();
    route(main, t, session);
    if (focus) main.focus();
  };
  // The skip link moves the focus, not the route.
  document.querySelector('a.skip')?.addEventListener('click', (e) => (e.preventDefault(), main.focus()));
  window.addEventListener('hashchange', () =>
    location.hash.startsWith('#/') || location.hash === '' ? show(true) : undefined,
  );
  show(false);
  if (session) {
    let alarms = 0;
    try {
      alarms = await runDueChecks(session);
    } catch (e) {
      banner.append(
        h(
          'div',
          { class: 'banner notice', role: 'status' },
          `! The daily check of your watched accounts could not run: ${(e as Error).message}. `,
          h('a', { href: '#/watch' }, 'See them'),
        ),
      );
    }
    if (alarms > 0)
      banner.append(
        h(
          'div',
          { class: 'banner alarm', role: 'alert' },
          `⚠ ${alarms} alarm(s) on your watched accounts. `,
          h('a', { href: '#/watch' }, 'See them'),
        ),
      );
  }
}

void start();
