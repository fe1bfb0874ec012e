/**
 * `kt check-receipt`: what a provider holding a publication receipt (the `receipt` of a 202 answer,
 * docs/PROTOCOL.md section 7) learns from the directory now. It fetches the account's lookup proof (and, when
 * that shows a later version, the history since version 0), and `checkReceipt`
 * (verifier/verification/receipt-check.ts) verifies the receipt and the proof with the pins only: honoured,
 * pending, or broken, in which case the `broken_receipt` evidence file (section 19) is written for
 * `kt verify-evidence`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { historyFromJson, lookupFromJson } from '../verifier/formats/proof-json.js';
import { ProofJsonError } from '../verifier/formats/proof-json-fields.js';
import { VerifyError } from '../verifier/verification/errors.js';
import {
  brokenReceiptEvidence,
  checkReceipt,
  type ReceiptCheck,
  type ReceiptProof,
} from '../verifier/verification/receipt-check.js';
import { lookupArguments } from './client-commands.js';
import { fetchJsonObject } from './fetch-json.js';
import { writeEvidence } from './files.js';
import { EXIT_VERIFICATION_FAILED, output, UsageError, writtenEvidence } from './output.js';
import { readPins, toVerifierPins } from './pins.js';

export const CHECK_RECEIPT_HELP = `usage: kt check-receipt PROVIDER ACCOUNT --receipt FILE [--pins FILE] [--server URL] [--evidence-dir DIR] [--json]
Checks a publication receipt (FILE holds the receipt note of a 202 answer, as kt provider publish --json
prints it) against the directory's current proof of ACCOUNT at PROVIDER, verified with the pins only:
honoured (the receipted statement is that version), pending (not yet, and the deadline has not passed in
the proof's epoch), or broken (another statement holds the version, or the deadline passed without it): then
a broken_receipt evidence file is written for kt verify-evidence.
Exit 0: honoured, pending or undetermined; 1: broken, or the proof does not verify; 2: usage or network
error, or a FILE that is not a receipt signed by the pinned log key.`;

/** A proof's JSON (a history since version 0 can be long). */
const fetchJson = (url: string) => fetchJsonObject(url, 64 * 1024 * 1024);

/**
 * A proof read from the directory's JSON: one that does not parse is a proof that failed (VerifyError
 * `bad_proof_json`, exit 1), as `kt lookup` reports it; a format this client does not read is not
 * (`unsupported_format`, exit 2).
 */
function proofOf<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ProofJsonError && e.code !== 'unsupported_format')
      throw new VerifyError('bad_proof_json', e.message);
    throw e;
  }
}

/** The lookup proof's check, or the history's when the lookup shows a later version only. */
async function checkAgainstServer(
  server: string,
  receipt: string,
  provider: string,
  account: string,
  pins: ReturnType<typeof toVerifierPins>,
): Promise<{ check: ReceiptCheck; proof: ReceiptProof }> {
  const path = `${encodeURIComponent(provider)}/${encodeURIComponent(account)}`;
  const json = await fetchJson(`${server}/v1/lookup/${path}`);
  let proof: ReceiptProof = { lookup: proofOf(() => lookupFromJson(json)) };
  let check = checkReceipt(receipt, proof, provider, account, pins);
  if (check.status === 'undetermined' && check.latestVersion > check.receipt.version) {
    const history = await fetchJson(`${server}/v1/history/${path}?since=0`);
    proof = { history: proofOf(() => historyFromJson(history)) };
    check = checkReceipt(receipt, proof, provider, account, pins);
  }
  return { check, proof };
}

/** The receipt file's text; one that cannot be read is a usage error naming it. */
function readReceipt(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the receipt ${path}: ${(e as Error).message}`);
  }
}

export async function checkReceiptCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      receipt: { type: 'string' },
      pins: { type: 'string', default: 'kt-pins.json' },
      server: { type: 'string' },
      'evidence-dir': { type: 'string', default: '.' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) return (console.log(CHECK_RECEIPT_HELP), 0);
  const [provider, account] = lookupArguments(positionals, CHECK_RECEIPT_HELP);
  if (!values.receipt) throw new UsageError(`expected PROVIDER ACCOUNT --receipt FILE\n${CHECK_RECEIPT_HELP}`);
  const pinsFile = readPins(values.pins);
  const server = (values.server ?? pinsFile.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  const receipt = readReceipt(values.receipt);
  const pins = toVerifierPins(pinsFile, values.pins);
  const { check, proof } = await checkAgainstServer(server, receipt, provider, account, pins);
  const out = output(values.json);
  const summary = { status: check.status, version: check.receipt.version, deadline: check.receipt.deadline };
  if (check.status !== 'broken') {
    out.result(`${check.status.toUpperCase()} ${provider} / ${account}: ${check.reason}`, {
      verified: true,
      ...summary,
    });
    return 0;
  }
  const evidence = brokenReceiptEvidence({
    origin: pinsFile.origin,
    logKey: pinsFile.logKey,
    server,
    provider,
    account,
    receipt,
    proof,
  });
  const path = writtenEvidence('broken receipt', () =>
    writeEvidence(values['evidence-dir'], 'broken_receipt', evidence),
  );
  out.result(
    `BROKEN ${provider} / ${account}: ${check.reason}; ${path ? `evidence written to ${path}` : 'evidence NOT written'}`,
    {
      verified: true,
      ...summary,
      evidence: path ?? null,
    },
  );
  return EXIT_VERIFICATION_FAILED;
}
