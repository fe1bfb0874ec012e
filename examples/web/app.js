// The example page's script: no build step. kt-client.js is the client package's browser bundle, copied
// beside this file (docs/VERIFIER.md "Start here"); kt-pins.json is the output of `kt trust --save`,
// checked out of band. The directory must allow this page's origin (its `lookupOrigins` setting).
import { createClient, localStorageStore } from './kt-client.js';

const pins = await (await fetch('kt-pins.json')).json();
const kt = createClient({ pins, store: localStorageStore('kt-state') });
const result = document.getElementById('result');

function show(text, ok) {
  result.textContent = text;
  result.className = ok ? 'ok' : 'bad';
}

document.getElementById('lookup').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const provider = String(form.get('provider')).trim();
  const account = String(form.get('account')).trim();
  try {
    const found = await kt.lookup(provider, account);
    const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
    const keys = (found.statement?.keys ?? []).map((k) => `  ${k.id} ${k.algorithm} ${base64(k.publicKey)}`).join('\n');
    show(
      `verified: ${account} at ${provider} is ${found.status}\nepoch ${found.epoch}, tree of ${found.checkpoint.size} entries${keys ? `\nkeys:\n${keys}` : ''}`,
      true,
    );
  } catch (e) {
    // VerifyError: the answer is forged or the log misbehaved (rollback, fork). ClientError: not reachable.
    show(`${e.name} [${e.code}]: ${e.message}`, false);
  }
});

// For the browser console and for tests: the client and the bundle.
globalThis.kt = kt;
