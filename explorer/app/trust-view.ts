/**
 * The "Trust" view (`#/trust`) and the banner every view shows: which pins this page verifies with and
 * where they came from, how to replace them (a `kt trust --save` file, pasted JSON, or, explicitly, the
 * server's own `/v1/config` on first use), the directory's URL, and any difference between the pins and
 * what the server now says (explorer/app/trust.ts).
 */
import { checkServerUrl } from '../../verifier/client/pins.js';
import { field, h, mount } from './dom.js';
import { keyStringFingerprint, isoTime } from './format.js';
import {
  comparePins,
  forgetPins,
  pinsFromConfig,
  pinsFromText,
  savePins,
  type KeptPins,
  type PinsDifference,
} from './trust.js';

export interface TrustContext {
  kept?: KeptPins;
  /** Why the kept pins could not be read, if they could not. */
  keptError?: string;
  server?: string;
  /** The server's /v1/config, when it could be read. */
  config?: Record<string, unknown>;
  /** The page's own origin, when it serves a directory. */
  ownOrigin?: string;
  /** Called after the pins or the URL changed: the page starts again with them. */
  restart: () => void;
}

const SOURCE: Record<KeptPins['source'], string> = {
  file: 'loaded from a kt trust file',
  pasted: 'pasted in',
  server: "taken from the server's /v1/config on first use (the operator's word: compare the fingerprints out of band)",
};

export function differences(t: TrustContext): PinsDifference[] {
  return t.kept && t.config ? comparePins(t.kept.pins, t.config) : [];
}

/** The banner: the pins in use, or the alarm when the server's configuration differs from them. */
export function trustBanner(t: TrustContext): HTMLElement {
  if (t.keptError)
    return h(
      'div',
      { class: 'banner alarm', role: 'alert' },
      `⚠ The pins kept in this browser cannot be used: ${t.keptError}. `,
      h('a', { href: '#/trust' }, 'Set pins'),
    );
  if (!t.kept)
    return h(
      'div',
      { class: 'banner notice', role: 'status' },
      '! No pins yet: this page verifies nothing until you give it the keys to trust. ',
      h('a', { href: '#/trust' }, 'Set pins'),
    );
  const diffs = differences(t);
  const alarms = diffs.filter((d) => d.severity === 'alarm');
  const pins = `Pins: ${t.kept.pins.origin}, log key ${keyStringFingerprint(t.kept.pins.logKey)}, ${SOURCE[t.kept.source].split(' (')[0]}; directory ${t.server ?? 'unknown'}.`;
  if (alarms.length > 0)
    return h(
      'div',
      { class: 'banner alarm', role: 'alert' },
      h(
        'strong',
        {},
        `⚠ ALARM: the server's /v1/config differs from your pins (${alarms.map((d) => d.field).join(', ')}). `,
      ),
      'The directory now claims keys you never trusted, or another log. Answers are still verified with your pins only. ',
      h('a', { href: '#/trust' }, 'Details'),
    );
  if (!t.config)
    return h(
      'div',
      { class: 'banner notice', role: 'status' },
      pins,
      " ! The server's /v1/config could not be read, so it was not compared with your pins (answers are still verified with your pins).",
    );
  const notices =
    diffs.length > 0
      ? ` Note: the server advises another witness policy (${diffs.map((d) => d.field).join(', ')}); yours is used.`
      : '';
  return h('div', { class: 'banner ok', role: 'status' }, pins, notices);
}

function pinsTable(kept: KeptPins): HTMLElement {
  const p = kept.pins;
  const row = (k: string, v: string) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))];
  return h(
    'dl',
    { class: 'pins' },
    row('Log origin', p.origin),
    row('Log key', `${p.logKey} (fingerprint ${keyStringFingerprint(p.logKey)})`),
    row('VRF key', `${p.vrfKey} (fingerprint ${keyStringFingerprint(p.vrfKey)})`),
    row('Witnesses', p.witnesses.length > 0 ? p.witnesses.join('\n') : 'none'),
    row('Witness quorum', `${p.witnessQuorum}${p.maxAgeSeconds ? `, cosigned at most ${p.maxAgeSeconds} s ago` : ''}`),
    h('dt', {}, 'Source'),
    h('dd', {}, `${SOURCE[kept.source]}, ${isoTime(kept.at)}`),
  );
}

function differenceList(diffs: PinsDifference[]): HTMLElement {
  return h(
    'ul',
    { class: 'differences' },
    diffs.map((d) =>
      h(
        'li',
        { class: d.severity },
        `${d.severity === 'alarm' ? '⚠ ALARM' : '! notice'}: ${d.field}: your pins say ${d.pinned}; the server says ${d.served}`,
      ),
    ),
  );
}

function loadForms(t: TrustContext): HTMLElement {
  const status = h('p', { role: 'alert', class: 'form-error' });
  const keep = (pins: KeptPins['pins'], source: KeptPins['source']) => {
    // New pins may be of another log: the directory URL set for the old ones is not kept.
    savePins(localStorage, { pins, source, at: Date.now() });
    t.restart();
  };
  const attempt = (f: () => void) => {
    try {
      f();
    } catch (e) {
      status.textContent = `Not used: ${(e as Error).message}`;
    }
  };
  const file = h('input', { type: 'file', accept: '.json,application/json' });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f) {
      const text = await f.text();
      attempt(() => keep(pinsFromText(text, f.name), 'file'));
    }
  });
  const pasted = h('textarea', { rows: 6 });
  const url = h('input', { type: 'url', value: t.kept?.server ?? '' });
  return h(
    'div',
    { class: 'trust-forms' },
    status,
    field(
      'Load a kt-pins.json file',
      file,
      'Made with: kt trust --server URL --save kt-pins.json, then checked out of band.',
    ),
    h(
      'form',
      {
        'aria-label': 'Paste pins',
        onsubmit: (e: Event) => (
          e.preventDefault(), attempt(() => keep(pinsFromText(pasted.value, 'the pasted pins'), 'pasted'))
        ),
      },
      field('Or paste the pins (JSON)', pasted),
      h('button', { type: 'submit' }, 'Use these pins'),
    ),
    // Only without pins: the server's word never replaces pins the person gave (forget them first).
    !t.kept && t.config && t.server
      ? h(
          'p',
          {},
          h(
            'button',
            { type: 'button', onclick: () => attempt(() => keep(pinsFromConfig(t.config!, t.server!), 'server')) },
            "Trust this server's /v1/config (first use)",
          ),
          " Only if you have nothing better: it takes the operator's word for the keys. Then compare the fingerprints this page shows with ones published elsewhere.",
        )
      : undefined,
    t.kept &&
      h(
        'form',
        {
          'aria-label': 'Directory URL',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const value = url.value.trim();
            attempt(() => {
              const server = value === '' ? undefined : checkServerUrl(value, 'the directory URL');
              if (t.kept) savePins(localStorage, { ...t.kept, server });
              t.restart();
            });
          },
        },
        field("Directory URL (empty: this page's own server, else the pins' server)", url),
        h('button', { type: 'submit' }, 'Use this URL'),
      ),
    t.kept &&
      h(
        'p',
        {},
        h('button', { type: 'button', onclick: () => (forgetPins(localStorage), t.restart()) }, 'Forget these pins'),
      ),
  );
}

export function trustView(main: HTMLElement, t: TrustContext): void {
  const diffs = differences(t);
  mount(
    main,
    h('h2', { tabindex: '-1' }, 'Trust: the pins this page verifies with'),
    h(
      'p',
      { class: 'warning' },
      "This page checks the directory with keys you give it, never with keys it takes silently from the server. But a copy of this page served by the directory's operator can be swapped by that operator for one that lies. For an independent check, save the page and open it as a file, or open a copy served from elsewhere, with your own pins.",
    ),
    t.kept ? pinsTable(t.kept) : h('p', {}, 'No pins yet.'),
    diffs.length > 0
      ? [h('h3', {}, "Differences from the server's /v1/config"), differenceList(diffs)]
      : t.kept && t.config
        ? h('p', { class: 'ok-text' }, "✓ The server's /v1/config matches your pins.")
        : undefined,
    h('h3', {}, 'Set the pins'),
    loadForms(t),
  );
}
