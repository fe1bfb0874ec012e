/** The "What verified means" view (`#/about`): what the page checks, what it cannot see, and why. */
import { h, mount } from './dom.js';

export function aboutView(main: HTMLElement): void {
  const item = (title: string, text: string) => [h('dt', {}, title), h('dd', {}, text)];
  mount(
    main,
    h('h2', { tabindex: '-1' }, 'What "verified" means here'),
    h(
      'p',
      {},
      "Every answer this page shows was checked here, in your browser, by the same verifier the directory's clients run, with only the pins: the log's key, the directory's VRF key and your witness policy. The server is never believed: an answer that does not verify is refused and nothing it says is shown.",
    ),
    h(
      'dl',
      {},
      item(
        'Verified',
        "The log signed a tree that holds this answer; the account's keys were signed by its provider's enrolled credential; the answer is the one the whole tree gives for this account, not one picked for you; and the tree extends every tree this browser saw before.",
      ),
      item(
        'Witnessed',
        'With witnesses in your pins, independent parties also signed that they saw this tree and no conflicting one. Without them, the directory could show you a tree it shows nobody else (a split view).',
      ),
      item(
        'Evidence',
        'Two trees the log signed that cannot both be honest (a fork), an older tree after a newer one (a rollback), or a key you did not make on your watched account: the page offers a file that anyone can check with kt verify-evidence. An answer that merely fails to verify proves nothing about the operator, so it comes with no file.',
      ),
    ),
    h('h3', {}, 'What this page cannot see'),
    h(
      'ul',
      {},
      h('li', {}, "Whether a key was made by the account's owner: only the owner knows (Watch my account)."),
      h('li', {}, 'What other people were shown, unless witnesses cosign: pin witnesses.'),
      h(
        'li',
        {},
        'Revocations the directory does not list, and every entry of the log: an auditor reads them all (kt audit).',
      ),
      h(
        'li',
        {},
        'Whether this page itself is honest when the operator serves it: keep your own copy, and your own pins.',
      ),
    ),
  );
}
