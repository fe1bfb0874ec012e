/**
 * `kt identity`: an account's identity key pair, for trying the directory with a test account. `new` makes
 * an Ed25519 key pair (the `ed25519` key algorithm of binding statements, verifier/formats/statement.ts:
 * a 32-byte public key, in base64 on the command line and in JSON), writes it to a file created with mode
 * 0600 and never overwritten, and prints the public key in the form `kt provider publish --identity` and
 * `kt monitor --key` take; `show` prints only the public key of such a file, for use in a shell. The
 * file is JSON: `{"type": "kt-identity-key/v1", "algorithm": "ed25519", "publicKey": B64, "secretKey":
 * B64}` (the secret key is the RFC 8032 seed). A real messaging client keeps its identity keys in its own
 * key store.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromBase64, toBase64 } from '../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed, generateEd25519KeyPair } from '../wasm-free-crypto/ed25519.js';
import { output, UsageError } from './output.js';
import { checkSubcommandOptions } from './subcommand-options.js';

export const IDENTITY_HELP = `usage: kt identity new [--out FILE] [--json]
       kt identity show [--key FILE] [--json]
new makes an account's Ed25519 identity key pair, as a test account's messaging client would, writes it
to FILE (default identity.json; mode 0600, never overwritten) and prints its public key in base64, the
form that \`kt provider publish --identity B64\` and \`kt monitor --key B64\` take. show prints only the
public key of FILE (default identity.json), for a shell: --identity "$(kt identity show --key FILE)".
Keep FILE secret: it holds the private key.`;

const FILE_TYPE = 'kt-identity-key/v1';

interface IdentityFile {
  type: typeof FILE_TYPE;
  algorithm: 'ed25519';
  publicKey: string;
  secretKey: string;
}

/** Creates `path` with mode 0600 and writes `contents`, refusing an existing file (even one made meanwhile). */
function writeNewSecretFile(path: string, contents: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${path} exists; an identity key is never overwritten`);
    throw new UsageError(`cannot create ${path}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads an identity file and checks that its public key is its secret key's. */
function readIdentity(path: string): IdentityFile {
  let file: IdentityFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as IdentityFile;
  } catch (e) {
    throw new UsageError(`cannot read the identity key ${path}: ${(e as Error).message}`);
  }
  try {
    if (file?.type !== FILE_TYPE || file.algorithm !== 'ed25519') throw new Error(`not a ${FILE_TYPE} file`);
    const publicKey = toBase64(ed25519KeyPairFromSeed(fromBase64(file.secretKey)).publicKey);
    if (publicKey !== file.publicKey) throw new Error('its public key is not its secret key');
  } catch (e) {
    throw new UsageError(`${path} is not a valid identity key: ${(e as Error).message}`);
  }
  return file;
}

function newIdentity(path: string): [string, unknown] {
  const pair = generateEd25519KeyPair();
  const file: IdentityFile = {
    type: FILE_TYPE,
    algorithm: 'ed25519',
    publicKey: toBase64(pair.publicKey),
    secretKey: toBase64(pair.secretKey),
  };
  writeNewSecretFile(path, `${JSON.stringify(file, null, 2)}\n`);
  return [
    `created ${path} (Ed25519 identity key pair, mode 0600; keep it secret)\nidentity key ${file.publicKey}\n` +
      `publish it with: kt provider publish ... --identity ${file.publicKey}`,
    { keyFile: path, algorithm: file.algorithm, publicKey: file.publicKey },
  ];
}

function showIdentity(path: string): [string, unknown] {
  const file = readIdentity(path);
  return [file.publicKey, { keyFile: path, algorithm: file.algorithm, publicKey: file.publicKey }];
}

/** The options each subcommand takes, besides --help: any other is refused (cli/subcommand-options.ts). */
const TAKES: Record<string, readonly string[]> = { new: ['out', 'json'], show: ['key', 'json'] };

export async function identity(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, tokens } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string', default: 'identity.json' },
      key: { type: 'string', default: 'identity.json' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    tokens: true,
  });
  if (sub === undefined || sub === '--help' || sub === '-h' || values.help)
    return (console.log(IDENTITY_HELP), sub === undefined ? 2 : 0);
  if (!Object.hasOwn(TAKES, sub)) throw new UsageError(`unknown identity command ${sub}\n${IDENTITY_HELP}`);
  checkSubcommandOptions('identity', sub, tokens, TAKES[sub]);
  const result = sub === 'new' ? newIdentity(values.out) : showIdentity(values.key);
  output(values.json).result(...result);
  return 0;
}
