/**
 * The building blocks of the OpenAPI document (openapi.ts): JSON Schema helpers, error responses with the
 * codes of errors.ts's table, the request parameters, and the schemas of every body the API takes or
 * answers (the proofs' JSON of verifier/formats/proof-json.ts, statements, configuration, errors).
 */
import type { ApiErrorCode } from './errors.js';

export type Json = Record<string, unknown>;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ---- schema helpers ----

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
export const str = (description?: string, extra: Json = {}): Json => ({
  type: 'string',
  ...(description ? { description } : {}),
  ...extra,
});
export const b64 = (description: string): Json =>
  str(`${description} (canonical base64: padding required, no whitespace)`, { contentEncoding: 'base64' });
export const int = (description?: string, minimum = 0): Json => ({
  type: 'integer',
  minimum,
  maximum: MAX_SAFE,
  ...(description ? { description } : {}),
});
export const arr = (items: Json, extra: Json = {}): Json => ({ type: 'array', items, ...extra });
/** A closed object (unknown fields are refused or never written); all fields required unless listed. */
export function obj(properties: Record<string, Json>, optional: string[] = [], description?: string): Json {
  return {
    type: 'object',
    additionalProperties: false,
    ...(description ? { description } : {}),
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

// ---- response helpers ----

export const jsonContent = (schema: Json): Json => ({ 'application/json': { schema } });
export const ok = (description: string, schema: Json, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: jsonContent(schema),
});
export const header = (description: string, schema: Json = { type: 'string' }): Json => ({ description, schema });
const RETRY_AFTER: Json = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };

/** An error response: the Error body, its codes listed in the description and in `x-error-codes`. */
export function err(when: string, codes: ApiErrorCode[], retryAfter = false): Json {
  return {
    description: `${when} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    'x-error-codes': codes,
    ...(retryAfter ? { headers: RETRY_AFTER } : {}),
    content: jsonContent(ref('Error')),
  };
}

export type ErrorSpec = Partial<Record<400 | 401 | 403 | 404 | 409 | 410 | 413 | 503, ApiErrorCode[]>> & {
  rateLimited?: boolean;
};

/** The error responses of one route; every route can answer 500 `internal`. */
export function errors(spec: ErrorSpec): Json {
  const when: Record<number, string> = {
    400: 'Malformed input.',
    401: 'Operator token missing or wrong.',
    403: 'A refused signature or credential.',
    404: 'Not found.',
    409: 'The version is taken or skipped, or the credential is already enrolled.',
    410: 'The version was erased, or only expired log entries hold it.',
    413: 'A body or statement above its limit.',
    503: 'Temporarily unavailable; retrying (resubmitting) is safe.',
  };
  const out: Json = {};
  for (const status of [400, 401, 403, 404, 409, 410, 413] as const)
    if (spec[status]) out[status] = err(when[status], spec[status]!);
  if (spec.rateLimited) out[429] = { $ref: '#/components/responses/RateLimited' };
  if (spec[503]) out[503] = err(when[503], spec[503], true);
  out[500] = { $ref: '#/components/responses/Internal' };
  return out;
}

export const pathParam = (name: string, description: string, schema: Json = { type: 'string' }): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});
export const WAIT: Json = {
  name: 'wait',
  in: 'query',
  required: false,
  schema: { type: 'string' },
  description:
    '`1` answers only once the epoch holding the request has committed (200); any other value or none answers at once (202).',
};

// ---- the codes ----

export const ACCOUNT_CODES: ApiErrorCode[] = [
  'account_bad_utf8',
  'account_too_long',
  'account_empty',
  'account_control_char',
  'account_not_canonical',
  'account_bad_email',
  'account_bad_phone',
];
export const STATEMENT_CODES: ApiErrorCode[] = [
  'statement_malformed',
  'statement_trailing_bytes',
  'statement_bad_version',
  'statement_bad_provider',
  'statement_bad_account',
  'statement_too_many_keys',
  'statement_bad_key',
  'statement_bad_public_key',
  'statement_duplicate_key',
  'statement_not_canonical',
  'statement_bad_status',
  'statement_unknown_field',
  'statement_bad_continuity',
  'statement_from_future',
];
export const CERT_CODES: ApiErrorCode[] = [
  'cert_untrusted',
  'cert_bad_signature',
  'cert_expired',
  'cert_not_yet_valid',
  'cert_not_ca',
  'cert_unsupported_extension',
  'cert_bad_key_usage',
  'cert_bad_key',
  'cert_no_dns_name',
  'cert_chain_too_long',
  'cert_revoked',
];
/** Why a write is not taken now: a full queue, a failed epoch, or a restored backup still read-only. */
export const QUEUE_CODES: ApiErrorCode[] = ['queue_full', 'directory_broken', 'epoch_failed', 'read_only'];

// ---- components ----

export function schemas(): Record<string, Json> {
  const committed = {
    epoch: int('The epoch that committed it.'),
    logIndex: int("Its log entry's index."),
    treeSize: int('The tree size of the checkpoint.'),
    checkpoint: str('The signed checkpoint (note text) of that epoch.'),
  };
  const enrolment = obj({
    position: int("Position in the epoch's credential set."),
    entry: b64('The enrolment log entry'),
    proof: b64('Inclusion proof in the credential set: concatenated 32-byte hashes'),
  });
  const fullVersion = {
    version: int(undefined, 1),
    statement: b64("The statement's binary encoding (section 12.4)"),
    signature: b64("The provider's 64-byte signature"),
    opening: b64('The 32-byte commitment opening'),
    enrolment: ref('EnrolmentProof'),
  };
  const format = {
    const: 1,
    description:
      'The version of the proof format (docs/PROTOCOL.md section 17.3): a /v1/ route always answers format 1; clients refuse a version they do not read.',
  };
  return {
    Error: obj({ error: ref('ErrorDetail') }, [], 'Every error body.'),
    ErrorDetail: obj({ code: str('A stable error code.'), message: str('Human-readable text.') }),
    EpochProof: obj({
      checkpoint: str('The signed checkpoint (note text).'),
      headIndex: int("Index of the epoch head entry: the checkpoint's size minus one."),
      headEntry: b64('The epoch head log entry'),
      headProof: b64('Its inclusion proof: concatenated 32-byte hashes'),
    }),
    EnrolmentProof: enrolment,
    VersionProof: obj(
      fullVersion,
      [],
      'A version with its statement, signature, opening and the enrolment of the signing credential.',
    ),
    ErasedVersion: obj(
      { version: int(undefined, 1), commitment: b64("The 32-byte commitment, read from the version's update entry") },
      [],
      'A version erased by a later deletion.',
    ),
    LookupProof: obj(
      {
        format,
        provider: str('Provider id.'),
        account: str('The canonical account.'),
        vrfProof: b64('The 80-byte ECVRF proof'),
        epoch: ref('EpochProof'),
        map: b64("The map proof's binary encoding (section 15.5)"),
        present: obj(
          {
            ...fullVersion,
            previousHistory: b64('The 32-byte history hash before this version (zeros for version 1)'),
          },
          [],
          'The latest version, when the account has one.',
        ),
        absent: obj(
          { enrolment: ref('EnrolmentProof') },
          [],
          "The account has no version, and the provider is enrolled: its first enrolment in the epoch's credential set.",
        ),
        notEnrolled: obj(
          {
            credentials: arr(b64('An enrolment entry'), {
              description: "Every enrolment entry of the epoch's credential set, in order.",
            }),
          },
          [],
          "The provider is not enrolled: the epoch's credential set, none of whose entries is the provider's.",
        ),
      },
      ['present', 'absent', 'notEnrolled'],
      'Lookup of (provider, account) in one epoch, with exactly one of present, absent and notEnrolled (section 17).',
    ),
    HistoryProof: obj(
      {
        format,
        since: int(),
        versions: arr(
          { oneOf: [ref('VersionProof'), ref('ErasedVersion')] },
          { description: 'Versions since+1 .. latest-1, oldest first.' },
        ),
        lookup: ref('LookupProof'),
      },
      [],
      'History of an account after version `since`, ending in the lookup of its latest version.',
    ),
    MonitorProof: {
      oneOf: [
        obj(
          {
            format,
            unchanged: obj({
              epoch: ref('EpochProof'),
              map: b64('The map proof of the leaf the owner knows (section 15.5)'),
            }),
          },
          [],
          'The account is still at the version given.',
        ),
        obj({ format, history: ref('HistoryProof') }, [], 'The account changed: its history since the version given.'),
      ],
      description: "The owner's daily check (docs/PROTOCOL.md section 17.2).",
    },
    DiscoveryProof: obj(
      {
        format,
        account: str('The canonical account.'),
        credentials: arr(b64('An enrolment entry'), {
          description: "Every enrolment entry of the epoch's credential set, in order.",
        }),
        lookups: arr(ref('LookupProof'), {
          description: 'One lookup per provider id in the set, all in the same epoch.',
        }),
      },
      [],
      'One account looked up under every enrolled provider.',
    ),
    StatementKey: obj({
      id: str(undefined, { pattern: '^[A-Za-z0-9._:-]{1,64}$' }),
      algorithm: { enum: ['ed25519', 'x25519', 'p256', 'ml-kem-768', 'ml-dsa-65'] },
      publicKey: b64('The public key (p256: 33-byte SEC1 compressed)'),
      protocol: str(undefined, { pattern: '^[\\x21-\\x7e]{1,64}$' }),
      capabilities: arr(str(undefined, { pattern: '^[\\x21-\\x7e]{1,64}$' }), {
        maxItems: 16,
        uniqueItems: true,
        description: 'Sorted.',
      }),
    }),
    Statement: obj(
      {
        provider: str('Provider id (a lower-case DNS name).'),
        account: str('The canonical account.'),
        version: int(undefined, 1),
        issuedAt: int('Milliseconds since the Unix epoch.'),
        status: { enum: ['active', 'deleted'] },
        keys: arr(ref('StatementKey'), {
          maxItems: 16,
          description: 'Sorted by id; none when deleted, at least one when active.',
        }),
        continuity: obj(
          { keyId: str(undefined, { pattern: '^[A-Za-z0-9._:-]{1,64}$' }), signature: b64('1..4096 bytes') },
          [],
          'Omitted (never null) when there is none.',
        ),
      },
      ['continuity'],
      'The JSON form of a binding statement (section 12.6). The API carries statements in their binary encoding (section 12.4), in base64; this is what that encoding decodes to.',
    ),
    Committed: {
      type: 'object',
      required: Object.keys(committed),
      properties: committed,
      description: 'The commitment fields of a committed answer (combined with others via allOf).',
    },
    Refused: obj({ status: { const: 'refused' }, error: ref('ErrorDetail') }, [], 'One refused item of a batch.'),
    Config: obj(
      {
        origin: str('The checkpoint origin.'),
        logKey: str("The log's verifier key string."),
        vrfKey: b64('The 32-byte VRF public key'),
        witnesses: arr(str('A cosigner verifier key string.')),
        witnessQuorum: int(),
        epochIntervalMs: int(),
        heartbeatMs: int(),
        providers: arr(
          obj({
            providerId: str(),
            fingerprint: str('Hex SHA-256 of the leaf TBSCertificate.', { pattern: '^[0-9a-f]{64}$' }),
            algorithm: str(),
            notBefore: int('ms'),
            notAfter: int('ms'),
            revoked: { type: 'boolean' },
            logIndex: int('Log index of the enrolment entry.'),
            revokedIndex: { type: ['integer', 'null'], description: 'Log index of the revocation entry, or null.' },
          }),
        ),
      },
      ['vrfKey', 'witnesses', 'witnessQuorum', 'epochIntervalMs', 'heartbeatMs', 'providers'],
      'The trust pins; the directory fields only when a directory is served.',
    ),
  };
}

// ---- paths ----
