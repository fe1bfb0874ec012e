/**
 * The client commands of `kt`: `trust` (fetch, save or print the pins), `lookup` and `history` (fetch and
 * verify with the pins and witness policy only, remembering the newest checkpoint in a state file so that
 * later answers must be consistent with it). When the directory serves a rollback or a fork, the two signed
 * checkpoints are written to an evidence file (`kt-evidence/v1`, see docs/VERIFIER.md).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { canonicalAccount, providerIdValid } from '../verifier/formats/account.js';
import { HISTORY_ZERO } from '../verifier/formats/directory-hashes.js';
import { VerifyError } from '../verifier/verification/errors.js';
import { verifyEvidence } from '../verifier/verification/evidence.js';
import { isKtState } from '../verifier/client/client.js';
import { LookupClient, type CheckpointEvidence, type ClientState } from '../verifier/lookup-client/lookup-client.js';
import type { LookupResult } from '../verifier/verification/lookup-verifier.js';
import { base64Of } from './base64-value.js';
import { fetchJsonObject } from './fetch-json.js';
import { readJsonOr, writeEvidence, writeFileAtomic } from './files.js';
import { output, UsageError, writtenEvidence, type Output } from './output.js';
import { checkPins, readPins, toVerifierPins, type PinsFile } from './pins.js';

const COMMON = {
  pins: { type: 'string', default: 'kt-pins.json' },
  server: { type: 'string' },
  state: { type: 'string', default: 'kt-state.json' },
  'evidence-dir': { type: 'string', default: '.' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const TRUST_HELP = `usage: kt trust --server URL [--save FILE] [--json]
       kt trust [--pins FILE] [--json]
Fetches the pins (origin, log key, VRF key, witnesses) from a directory's /v1/config and prints them, or
saves them with --save; without --server, prints the pins saved in FILE (default kt-pins.json).
Pins fetched from the server you want to check prove nothing: compare the printed fingerprints with ones
published out of band (the operator's website, a provider's documentation) before relying on them.`;

export const LOOKUP_HELP = `usage: kt lookup PROVIDER ACCOUNT [--pins FILE] [--server URL] [--state FILE] [--evidence-dir DIR] [--json]
Looks ACCOUNT up at PROVIDER and verifies the answer with the pins only: the VRF label, the map proof, the
provider's signature and enrolment, the epoch and the signed checkpoint (with the pinned witness policy),
and its consistency with the newest checkpoint in the state file (default kt-state.json), which it then
updates. Exit 0: verified (present, deleted, absent, or the provider is not enrolled); 1: verification failed;
2: usage or network error, or a malformed provider id or account.`;

export const HISTORY_HELP = `usage: kt history PROVIDER ACCOUNT [--since N --since-hash B64] [--pins FILE] [--server URL] [--state FILE] [--evidence-dir DIR] [--json]
Fetches and verifies every version of ACCOUNT after version N (default 0: all of them), chained from the
history hash B64 of version N (required when N > 0: the hash \`kt history\` printed for it before).`;

function serverOf(pins: PinsFile, flag: string | undefined): string {
  const server = (flag ?? pins.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  return server;
}

/** The directory's configuration (its pins, and more), at most 1 MiB. */
const fetchConfig = (server: string) => fetchJsonObject(`${server}/v1/config`, 1024 * 1024);

function fingerprint(key: string): string {
  return toHex(sha256(new TextEncoder().encode(key))).slice(0, 16);
}

export async function trust(argv: string[]): Promise<number> {
  // Only the options trust reads: --state and --evidence-dir are refused, not ignored. --pins has no default here,
  // so that one given with --server (which fetches the pins, and saves them with --save only) is refused too.
  const { values } = parseArgs({
    args: argv,
    options: {
      pins: { type: 'string' },
      server: COMMON.server,
      save: { type: 'string' },
      json: COMMON.json,
      help: COMMON.help,
    },
    allowPositionals: false,
  });
  if (values.help) return (console.log(TRUST_HELP), 0);
  if (values.save !== undefined && !values.server)
    throw new UsageError('--save needs --server: the pins to save are fetched from the server');
  if (values.pins !== undefined && values.server)
    throw new UsageError('--pins is read without --server only: with --server, save the pins with --save FILE');
  let pins: PinsFile;
  if (values.server) {
    const c = await fetchConfig(values.server.replace(/\/+$/, ''));
    pins = checkPins(
      {
        server: values.server,
        origin: c.origin,
        logKey: c.logKey,
        vrfKey: c.vrfKey,
        witnesses: c.witnesses ?? [],
        witnessQuorum: c.witnessQuorum ?? 0,
      },
      `${values.server}/v1/config`,
    );
    if (values.save) writeFileAtomic(values.save, `${JSON.stringify(pins, null, 2)}\n`);
  } else pins = readPins(values.pins ?? COMMON.pins.default);
  const lines = [
    `origin          ${pins.origin}`,
    `log key         ${pins.logKey}`,
    `vrf key         ${pins.vrfKey}`,
    `witnesses       ${pins.witnesses.length === 0 ? 'none' : pins.witnesses.join('\n                ')}`,
    `witness quorum  ${pins.witnessQuorum}`,
    `max lag         ${pins.maxLagSeconds === undefined ? 'none (an answer from a smaller tree is a rollback)' : `${pins.maxLagSeconds} s`}`,
    `fingerprints    log ${fingerprint(pins.logKey)}  vrf ${fingerprint(pins.vrfKey)}`,
  ];
  if (values.server)
    lines.push(
      values.save
        ? `saved to ${values.save}; check the fingerprints out of band before relying on them`
        : 'not saved (use --save FILE)',
    );
  output(values.json).result(lines.join('\n'), {
    pins,
    fingerprints: { logKey: fingerprint(pins.logKey), vrfKey: fingerprint(pins.vrfKey) },
  });
  return 0;
}

/**
 * The state file: absent (a first run), or what `kt lookup` writes, an object of a string `origin` and a string
 * `checkpoint`. Anything else (the pins, an identity key, another program's file given by mistake) is refused
 * (`bad_state`), never overwritten.
 */
function readClientState(path: string): Pick<ClientState, 'checkpoint'> & { origin?: string } {
  const state = readJsonOr<unknown>(path, {});
  if (!isKtState(state) || [state.origin, state.checkpoint].some((v) => v !== undefined && typeof v !== 'string'))
    throw new UsageError(
      `${path} is not a kt state file (an object of "origin" and "checkpoint"); it is left as it is`,
      'bad_state',
    );
  return state as { origin?: string; checkpoint?: string };
}

/** A lookup client over the pins and state file; evidence goes to files. */
function openClient(values: { pins: string; server?: string; state: string; 'evidence-dir': string }, out: Output) {
  const pins = readPins(values.pins);
  const baseUrl = serverOf(pins, values.server);
  const state = readClientState(values.state);
  if (state.origin !== undefined && state.origin !== pins.origin)
    throw new UsageError(`${values.state} is for the log ${state.origin}, not ${pins.origin}`, 'bad_state');
  const onEvidence = (e: CheckpointEvidence) => {
    const extra = e.prefixRoot && e.proof ? { prefixRoot: toBase64(e.prefixRoot), proof: e.proof.map(toBase64) } : {};
    const path = writtenEvidence(e.kind, () =>
      writeEvidence(values['evidence-dir'], e.kind, {
        type: 'kt-evidence/v1',
        kind: e.kind,
        origin: pins.origin,
        logKey: pins.logKey,
        server: baseUrl,
        observedAt: new Date().toISOString(),
        accepted: e.accepted,
        offered: e.offered,
        ...extra,
      }),
    );
    if (path && !out.json) console.error(`evidence of a ${e.kind} written to ${path}`);
  };
  const client = new LookupClient({
    baseUrl,
    pins: toVerifierPins(pins, values.pins),
    state: { checkpoint: state.checkpoint },
    onEvidence,
    maxLagSeconds: pins.maxLagSeconds, // a lagging replica's answer within the pinned bound is not a rollback
  });
  const save = () =>
    writeFileAtomic(
      values.state,
      `${JSON.stringify({ origin: pins.origin, checkpoint: client.state.checkpoint }, null, 2)}\n`,
    );
  return { client, save };
}

/**
 * The provider and the canonical account, checked here before the directory is asked: a malformed provider
 * id (docs/PROTOCOL.md section 12.1) or account (section 12.2) is a usage error, not an absence.
 */
export function lookupArguments(positionals: string[], help: string): [string, string] {
  if (positionals.length !== 2) throw new UsageError(`expected PROVIDER ACCOUNT\n${help}`);
  const [provider, account] = positionals;
  if (!providerIdValid(provider))
    throw new UsageError(`${JSON.stringify(provider)} is not a provider id (a lower-case DNS name)`, 'bad_provider');
  try {
    canonicalAccount(account);
  } catch (e) {
    throw new UsageError(`${JSON.stringify(account)} is not an account: ${(e as Error).message}`, 'bad_account');
  }
  return [provider, account];
}

function describe(r: LookupResult): Record<string, unknown> {
  const s = r.statement;
  return {
    result: r.status,
    status: r.status,
    epoch: r.epoch,
    treeSize: r.checkpoint.size,
    label: toBase64(r.label),
    ...(s
      ? {
          version: s.version,
          issuedAt: new Date(s.issuedAt).toISOString(),
          keys: s.keys.map((k) => ({
            id: k.id,
            algorithm: k.algorithm,
            publicKey: toBase64(k.publicKey),
            protocol: k.protocol,
          })),
        }
      : {}),
    ...(r.historyHash ? { historyHash: toBase64(r.historyHash) } : {}),
    ...(r.providers ? { providers: r.providers } : {}),
  };
}

/** The human line for a lookup that found no version: an absence, or a provider that is not enrolled. */
function noVersion(r: LookupResult, provider: string, account: string): string {
  const at = `(epoch ${r.epoch}, tree size ${r.checkpoint.size})`;
  if (r.status === 'absent') return `verified: ${provider} / ${account} is absent ${at}`;
  const enrolled = r.providers!.length > 0 ? r.providers!.join(', ') : 'none';
  const line = `verified: ${provider} is not enrolled in this directory, so it has no account ${account} ${at}`;
  return `${line}\n  enrolled providers: ${enrolled}`;
}

export async function lookup(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true });
  if (values.help) return (console.log(LOOKUP_HELP), 0);
  const [provider, account] = lookupArguments(positionals, LOOKUP_HELP);
  const out = output(values.json);
  const { client, save } = openClient(values, out);
  const r = await client.lookup(provider, account);
  save();
  const d = describe(r);
  const keys = (d.keys as { id: string; algorithm: string; publicKey: string }[] | undefined) ?? [];
  const human = !r.statement
    ? noVersion(r, provider, account)
    : `verified: ${provider} / ${account} is ${r.status}, version ${d.version} (epoch ${r.epoch}, tree size ${r.checkpoint.size})\n${keys.map((k) => `  key ${k.id} ${k.algorithm} ${k.publicKey}`).join('\n')}\n  history hash ${d.historyHash}`;
  out.result(human, { verified: true, provider, account, ...d });
  return 0;
}

/** A --since-hash: 32 bytes of base64, as `kt history` and `kt lookup` print a history hash. */
function historyHashOption(text: string): Uint8Array {
  const hash = base64Of(text, 32);
  if (!hash) throw new UsageError('--since-hash must be a history hash: 32 bytes of base64');
  return hash;
}

export async function history(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON, since: { type: 'string', default: '0' }, 'since-hash': { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help) return (console.log(HISTORY_HELP), 0);
  const [provider, account] = lookupArguments(positionals, HISTORY_HELP);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(values.since)) throw new UsageError('--since must be a non-negative integer');
  const since = Number(values.since);
  if (since > 0 && !values['since-hash'])
    throw new UsageError('--since N needs --since-hash, the history hash of version N');
  if (since === 0 && values['since-hash'] !== undefined)
    throw new UsageError('--since-hash is the history hash of version N: give it with --since N (N > 0)');
  const sinceHash = since === 0 ? HISTORY_ZERO : historyHashOption(values['since-hash']!);
  const out = output(values.json);
  const { client, save } = openClient(values, out);
  const h = await client.history(provider, account, since, sinceHash);
  save();
  const versions = h.statements.map((s, i) => ({
    version: since + i + 1,
    erased: s === undefined,
    keys: s?.keys.map((k) => toBase64(k.publicKey)) ?? [],
    status: s?.status,
  }));
  if (h.lookup.status === 'not_enrolled') {
    out.result(noVersion(h.lookup, provider, account), {
      verified: true,
      provider,
      account,
      result: h.lookup.status,
      since,
      versions,
      lookup: describe(h.lookup),
    });
    return 0;
  }
  const human = [
    `verified: history of ${provider} / ${account} after version ${since}, ${versions.length} version(s), chained to the current map leaf`,
    ...versions.map((v) => `  v${v.version} ${v.erased ? '(erased)' : `${v.status} ${v.keys.join(' ')}`}`),
    `  latest history hash ${h.lookup.historyHash ? toBase64(h.lookup.historyHash) : 'none'}`,
  ].join('\n');
  out.result(human, {
    verified: true,
    provider,
    account,
    result: h.lookup.status,
    since,
    versions,
    lookup: describe(h.lookup),
  });
  return 0;
}

export const VERIFY_EVIDENCE_HELP = `usage: kt verify-evidence FILE [--pins FILE] [--json]
Checks an evidence file written by kt lookup, history or monitor (kt-evidence/v1) with the pins only,
offline: a fork (two trees the log signed that cannot both be honest), a key the owner did not make and a
broken receipt (kt check-receipt: the log's signed promise of a version, and a later proof that it was not
kept) are proven by the file itself; a rollback is shown (both checkpoints valid), not proven.
Exit 0: the file establishes its claim; 1: it does not; 2: usage error.`;

/**
 * An evidence file's JSON. One that cannot be read is a usage error (exit 2); one that is not JSON is no evidence
 * (`evidence_invalid`, exit 1), as one of another shape is.
 */
function readEvidence(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VerifyError('evidence_invalid', `${path} is not JSON: ${(e as Error).message}`);
  }
}

export async function verifyEvidenceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { pins: COMMON.pins, json: COMMON.json, help: COMMON.help },
    allowPositionals: true,
  });
  if (values.help) return (console.log(VERIFY_EVIDENCE_HELP), 0);
  if (positionals.length !== 1) throw new UsageError(`expected FILE\n${VERIFY_EVIDENCE_HELP}`);
  const pins = readPins(values.pins);
  const verdict = verifyEvidence(readEvidence(positionals[0]), toVerifierPins(pins, values.pins));
  output(values.json).result(`${verdict.proven ? 'PROVEN' : 'SHOWN'} ${verdict.kind}: ${verdict.summary}`, {
    verified: true,
    ...verdict,
  });
  return 0;
}
