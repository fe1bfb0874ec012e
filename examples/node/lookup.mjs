// Looks an account up in a key transparency directory and verifies the answer, on plain Node 20 (no
// TypeScript, no bundler). Setup (docs/VERIFIER.md "Start here"):
//   npm install @kt-directory/client            (or the packed tarball: npm install ./kt-directory-client-0.1.0.tgz)
//   kt-pins.json: `npx kt trust --server https://kt.example --save kt-pins.json` in a kt-directory checkout
//   (kt comes with the server package), then check the fingerprints out of band
//   node lookup.mjs chat.example alice@example.org
// The newest checkpoint is kept in kt-state.json (the same file `kt lookup` uses), so a directory that
// later answers from an older or a forked tree is caught, across runs.
import { readFile } from 'node:fs/promises';
import { createClient } from '@kt-directory/client';
import { fileStore } from '@kt-directory/client/node';

const [provider, account] = process.argv.slice(2);
if (!provider || !account) {
  console.error('usage: node lookup.mjs PROVIDER ACCOUNT   (pins in ./kt-pins.json or $KT_PINS)');
  process.exit(2);
}
const pins = JSON.parse(await readFile(process.env.KT_PINS ?? 'kt-pins.json', 'utf8'));
const kt = createClient({ pins, store: fileStore(process.env.KT_STATE ?? 'kt-state.json') });

try {
  const found = await kt.lookup(provider, account);
  console.log(
    `verified: ${provider}/${account} is ${found.status} (epoch ${found.epoch}, tree ${found.checkpoint.size})`,
  );
  for (const key of found.statement?.keys ?? [])
    console.log(`  key ${key.id}: ${Buffer.from(key.publicKey).toString('base64')}`);
} catch (e) {
  // VerifyError: the answer did not verify, or the log misbehaved. ClientError: the directory could not be asked.
  console.error(`${e.name} [${e.code}]: ${e.message}`);
  process.exitCode = e.name === 'VerifyError' ? 1 : 2;
}
