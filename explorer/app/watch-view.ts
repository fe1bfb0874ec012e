/**
 * The "Watch my account" view (`#/watch`): an owner lists an account with the keys they made; the page
 * runs the daily check (explorer/app/watch.ts) when one is due and on request, and shows every alarm in
 * words until the owner dismisses it, with its evidence file.
 */
import { downloadLink, field, h, mount } from './dom.js';
import { evidenceFileName } from './evidence.js';
import { isoTime } from './format.js';
import { logStateKey, type Session } from './session.js';
import { checkWatched, isDue, loadWatched, newWatched, saveWatched, type WatchedAccount } from './watch.js';

const store = () => globalThis.localStorage;

/** Runs the checks that are due (at most one a day per account); returns the number of alarms outstanding. */
export async function runDueChecks(session: Session, now = Date.now()): Promise<number> {
  const pins = session.kept.pins;
  let list = loadWatched(store(), pins);
  for (const w of list.filter((x) => isDue(x, now))) {
    const checked = await checkWatched(session, w, now);
    list = loadWatched(store(), pins).map((x) => (x.provider === w.provider && x.account === w.account ? checked : x));
    saveWatched(store(), pins, list);
  }
  return list.reduce((n, w) => n + w.alarms.length, 0);
}

function alarmItem(w: WatchedAccount, i: number, update: (w: WatchedAccount) => void): HTMLElement {
  const a = w.alarms[i];
  return h(
    'li',
    { class: 'alarm' },
    h('strong', {}, `⚠ ALARM [${a.kind}]`),
    ` ${w.account} at ${w.provider}: ${a.message} (seen ${isoTime(a.at)}). `,
    a.evidence !== undefined &&
      downloadLink(
        evidenceFileName(a.kind, a.at),
        `${JSON.stringify(a.evidence, null, 2)}\n`,
        'Download the evidence file',
      ),
    ' ',
    h(
      'button',
      { type: 'button', onclick: () => update({ ...w, alarms: w.alarms.filter((_, j) => j !== i) }) },
      'Dismiss',
    ),
  );
}

function watchedItem(session: Session, w: WatchedAccount, rerender: (status: string) => void): HTMLElement {
  const pins = session.kept.pins;
  const replace = (next: WatchedAccount | undefined) => {
    const list = loadWatched(store(), pins).flatMap((x) =>
      x.provider === w.provider && x.account === w.account ? (next ? [next] : []) : [x],
    );
    saveWatched(store(), pins, list);
    rerender(
      next
        ? `${w.account} at ${w.provider}: ${next.lastResult ?? 'updated'}.`
        : `${w.account} at ${w.provider} is no longer watched.`,
    );
  };
  const last =
    w.lastCheck === undefined
      ? 'not checked yet'
      : `last checked ${isoTime(w.lastCheck)}: ${w.lastResult}, at version ${w.state.version}`;
  return h(
    'li',
    { class: 'watched' },
    h('h3', {}, `${w.account} at ${w.provider}`),
    h('p', {}, `${w.ownerKeys.length} key(s) of yours; ${last}.`),
    w.alarms.length > 0
      ? h(
          'ul',
          { class: 'alarms' },
          w.alarms.map((_, i) => alarmItem(w, i, replace)),
        )
      : w.lastResult?.startsWith('check failed')
        ? h('p', { class: 'check failed' }, '✗ The last check failed (above): nothing was verified, no alarm raised.')
        : h('p', { class: 'ok-text' }, '✓ No alarm: every version seen binds only your keys.'),
    h(
      'button',
      {
        type: 'button',
        onclick: async (e: Event) => (
          ((e.target as HTMLButtonElement).disabled = true), replace(await checkWatched(session, w))
        ),
      },
      'Check now',
    ),
    ' ',
    h('button', { type: 'button', onclick: () => replace(undefined) }, 'Stop watching'),
  );
}

function addForm(session: Session, rerender: (status: string) => void): HTMLFormElement {
  const p = h('input', { name: 'provider', required: true, autocomplete: 'off' });
  const a = h('input', { name: 'account', required: true, autocomplete: 'off' });
  const k = h('textarea', { name: 'keys', required: true, rows: 3 });
  const error = h('p', { class: 'form-error', role: 'alert' });
  return h(
    'form',
    {
      'aria-label': 'Watch an account',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        let w: WatchedAccount;
        try {
          w = newWatched(p.value.trim(), a.value.trim(), k.value);
        } catch (err) {
          return void (error.textContent = `The keys must be base64 public keys: ${(err as Error).message}`);
        }
        const pins = session.kept.pins;
        const others = loadWatched(store(), pins).filter((x) => x.provider !== w.provider || x.account !== w.account);
        const checked = await checkWatched(session, w);
        saveWatched(store(), pins, [...others, checked]);
        rerender(`Now watching ${w.account} at ${w.provider}: ${checked.lastResult}.`);
      },
    },
    field('Provider', p),
    field('Account', a),
    field(
      'Your public keys',
      k,
      'The public keys you made for this account, base64, one per line (as the account page shows them under "public key").',
    ),
    error,
    h('button', { type: 'submit' }, 'Watch this account'),
  );
}

/** The view; after an action, `status` says what happened (announced) and focus returns to the heading. */
export function watchView(main: HTMLElement, session: Session): void {
  const render = (status?: string) => {
    let list: WatchedAccount[];
    try {
      list = loadWatched(store(), session.kept.pins);
    } catch (e) {
      const forget = () => (store().removeItem(logStateKey('watch', session.kept.pins)), render('Forgotten.'));
      return mount(
        main,
        h('h2', { tabindex: '-1' }, 'Watch my account'),
        h('p', { class: 'outcome bad', role: 'alert' }, `✗ ${(e as Error).message}.`),
        h('button', { type: 'button', onclick: forget }, 'Forget the watched accounts of this log'),
      );
    }
    const heading = h('h2', { tabindex: '-1' }, 'Watch my account');
    mount(
      main,
      heading,
      h('p', { role: 'status', class: 'status' }, status ?? ''),
      h(
        'p',
        {},
        'For your own accounts: list the keys you made, and this page checks every new version against them, once a day when you open it, or now. A key you did not make, or an erased version, raises an alarm that stays until you dismiss it. What is watched is kept in this browser only.',
      ),
      list.length > 0
        ? h(
            'ul',
            { class: 'watch-list' },
            list.map((w) => watchedItem(session, w, render)),
          )
        : h('p', {}, 'No account watched yet.'),
      h('h3', {}, 'Watch an account'),
      addForm(session, render),
    );
    if (status !== undefined) heading.focus();
  };
  render();
}
