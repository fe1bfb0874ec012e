/**
 * The OpenAPI 3.1 description of the HTTP API, as a plain object built by `openApiDocument(opts)` and
 * served at `GET /openapi.json`. It describes every route `createApp` serves (app.ts and
 * directory-routes.ts) exactly as implemented: the tlog-tiles read API, configuration and operations, the
 * directory's lookups, publication and operator routes, the JSON form of the proofs
 * (verifier/formats/proof-json.ts) and every error status with its stable codes (errors.ts's table, whose
 * code type they must be). Each error response lists its codes in `x-error-codes`; the schemas and the
 * building blocks are in openapi-schemas.ts. Pure.
 */
import { keyTransPaths } from './openapi-keytrans.js';
import type { ApiErrorCode } from './errors.js';
import {
  type Json,
  MAX_SAFE,
  ref,
  str,
  b64,
  int,
  arr,
  obj,
  jsonContent,
  ok,
  header,
  err,
  type ErrorSpec,
  errors,
  pathParam,
  WAIT,
  ACCOUNT_CODES,
  STATEMENT_CODES,
  CERT_CODES,
  QUEUE_CODES,
  schemas,
} from './openapi-schemas.js';

function logPaths(origin: string): Json {
  const immutable = { 'Cache-Control': header('`public, max-age=31536000, immutable`') };
  const tileOk = (what: string, extraHeaders: Json = {}): Json => ({
    description: what,
    headers: { ...immutable, ...extraHeaders },
    content: { 'application/octet-stream': {} },
  });
  const tileErrors = errors({ 400: ['bad_tile_path'], 404: ['not_found'] });
  const level = pathParam('level', 'Tile level 0..63, decimal without leading zeros.', {
    type: 'string',
    pattern: '^(0|[1-9][0-9]?)$',
  });
  const index = pathParam(
    'index',
    'Tile index N in groups of three digits, all but the last prefixed with `x` and separated by literal slashes (not percent-encoded; the raw path is parsed): 1234067 is `x001/x234/067`, 5 is `005`. No leading `x000` group; at most 6 groups.',
    { type: 'string', pattern: '^(x[0-9]{3}/){0,5}[0-9]{3}$' },
  );
  const width = pathParam('width', 'Width of a partial tile, 1..255 without leading zeros.', {
    type: 'string',
    pattern: '^[1-9][0-9]{0,2}$',
  });
  const acceptEncoding: Json = {
    name: 'Accept-Encoding',
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description: 'The bundle is gzipped when this allows gzip (or `*`) with a non-zero quality.',
  };
  const tile = (params: Json[], summary: string): Json => ({
    get: {
      operationId: `get${summary.replace(/\W/g, '')}`,
      tags: ['log'],
      summary,
      parameters: params,
      responses: { 200: tileOk('The tile: its W hashes, 32 bytes each, concatenated.'), ...tileErrors },
    },
  });
  const bundle = (params: Json[], summary: string): Json => ({
    get: {
      operationId: `get${summary.replace(/\W/g, '')}`,
      tags: ['log'],
      summary,
      parameters: [...params, acceptEncoding],
      responses: {
        200: tileOk('Entries N*256 .. N*256+W-1, each a big-endian uint16 length then its bytes.', {
          Vary: header('`Accept-Encoding`'),
          'Content-Encoding': header('`gzip` when the request allows it.'),
        }),
        ...tileErrors,
      },
    },
  });
  const partial = 'A partial tile of any width up to the current one is served (tlog-tiles).';
  return {
    '/log/checkpoint': {
      get: {
        operationId: 'getCheckpoint',
        tags: ['log'],
        summary: 'The signed checkpoint',
        description: `A signed note (C2SP tlog-checkpoint) whose first line is the origin \`${origin}\`, then the tree size and root hash.`,
        responses: {
          200: {
            description: 'The checkpoint.',
            headers: { 'Cache-Control': header('`public, max-age=1, must-revalidate`') },
            content: { 'text/plain; charset=utf-8': { schema: { type: 'string' } } },
          },
          ...errors({}),
        },
      },
    },
    '/log/tile/{level}/{index}': tile([level, index], 'Full tile'),
    '/log/tile/{level}/{index}.p/{width}': {
      get: { ...(tile([level, index, width], 'Partial tile').get as Json), description: partial },
    },
    '/log/tile/entries/{index}': bundle([index], 'Full entry bundle'),
    '/log/tile/entries/{index}.p/{width}': {
      get: { ...(bundle([index, width], 'Partial entry bundle').get as Json), description: partial },
    },
  };
}

function opsPaths(): Json {
  return {
    '/v1/config': {
      get: {
        operationId: 'getConfig',
        tags: ['operations'],
        summary: 'Trust pins and configuration',
        responses: { 200: ok('The configuration.', ref('Config')), ...errors({}) },
      },
    },
    '/healthz': {
      get: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'Liveness, and what degrades the service',
        responses: {
          200: ok(
            'Alive; `ok` false with the reasons when epochs stall or the witness quorum is not met.',
            obj({ ok: { type: 'boolean' }, degraded: arr(str()), treeSize: int() }, ['degraded']),
          ),
          ...errors({}),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          '`kt_tree_size`, `kt_queue_depth`, `kt_epoch`, `kt_epoch_commit_seconds`, `kt_checkpoint_age_seconds`, `kt_witness_failures_total{witness}`, `kt_requests_total{method,route,status}`, `kt_request_duration_seconds{method,route,status}` (histogram: `_bucket{le}` from 1 ms to 10 s, `_sum`, `_count`); `route` is a route pattern or `unmatched`, `method` a common method or `OTHER`.',
        responses: {
          200: {
            description: 'Prometheus text exposition.',
            content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
          },
          ...errors({}),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        tags: ['operations'],
        summary: 'This document',
        responses: { 200: ok('The OpenAPI 3.1 document.', { type: 'object' }), ...errors({}) },
      },
    },
  };
}

function directoryPaths(): Json {
  const provider = pathParam('provider', 'Provider id.');
  const account = pathParam('account', 'The account, URL-encoded, in any spelling: it is canonicalised.');
  const lookupErrors = (extra: ErrorSpec = {}): Json =>
    errors({ 400: ['bad_request', ...ACCOUNT_CODES], 503: ['busy', 'overloaded'], rateLimited: true, ...extra });
  const lookupItem = obj({ provider: str(), account: str() });
  const signed = obj(
    {
      statement: b64("The statement's binary encoding (section 12.4; see the Statement schema)"),
      signature: b64('The provider\'s 64-byte signature over D("kt/v1/statement") || statement'),
      keytrans_signature: b64(
        "The provider's KEYTRANS UpdateTBS signature (section 22.3) with its enrolled Ed25519 key: over UpdateTBS{the provider's deployment Configuration (GET /keytrans/v1/{provider}/config), the account as label, the statement's version minus one, the statement}. Required for each new version of an account in the provider's KEYTRANS deployment.",
      ),
      credential: str(
        "The credential the statement is signed with: the hex SHA-256 of its leaf TBSCertificate (the `fingerprint` of /v1/config's providers), 64 lower-case hex digits. Given, only that credential is tried; without it, the provider's credentials are searched, at most 8 signature checks (section 16).",
        { pattern: '^[0-9a-f]{64}$' },
      ),
    },
    ['credential', 'keytrans_signature'],
  );
  const accepted = obj({
    label: b64('The 32-byte label'),
    version: int(undefined, 1),
    status: { const: 'accepted' },
    receipt: str(
      'A note signed by the log, given once the statement is durably queued: `kt/v2/receipt\\n<base64 label>\\n<version>\\n<base64 SHA-256(D("kt/v1/receipt-statement") || statement)>\\n<acceptance time, ms>\\n<deadline, ms>\\n`; the log promises the statement is this version by the deadline (docs/PROTOCOL.md sections 7 and 16).',
    ),
  });
  const committedItem = {
    allOf: [ref('Committed')],
    type: 'object',
    required: ['label', 'version', 'status'],
    properties: { label: b64('The 32-byte label'), version: int(undefined, 1), status: { const: 'committed' } },
    unevaluatedProperties: false,
  };
  const withCommit = (props: Record<string, Json>): Json => ({
    allOf: [ref('Committed')],
    type: 'object',
    required: Object.keys(props),
    properties: props,
    unevaluatedProperties: false,
  });
  const body = (schema: Json, limit: string): Json => ({
    required: true,
    description: `JSON, at most ${limit}; unknown fields are refused.`,
    content: jsonContent(schema),
  });
  const operator = [{ operatorToken: [] }];
  const queueErrors = (status403: ApiErrorCode[] | undefined, extra: ErrorSpec): Json =>
    errors({
      401: ['unauthorized'],
      413: ['too_large'],
      503: QUEUE_CODES,
      rateLimited: true, // a client after 10 failed authentications
      ...(status403 ? { 403: status403 } : {}),
      ...extra,
    });
  return {
    '/v1/lookup/{provider}/{account}': {
      get: {
        operationId: 'lookup',
        tags: ['directory'],
        summary: 'Look up one account',
        description:
          'Rate limited per client: one lookup, or `absentLookupCost` (default 6) for a name the directory does not know. An unknown provider or account gives an absence proof.',
        parameters: [provider, account],
        responses: {
          200: {
            ...ok(
              'The lookup proof: JSON, or its binary form (docs/PROTOCOL.md section 17.4) to a client whose Accept header prefers `application/vnd.kt.lookup+binary`. The answer carries `Vary: Accept`.',
              ref('LookupProof'),
            ),
            content: {
              'application/json': { schema: ref('LookupProof') },
              'application/vnd.kt.lookup+binary': { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...lookupErrors(),
        },
      },
    },
    '/v1/lookup': {
      post: {
        operationId: 'lookupBatch',
        tags: ['directory'],
        summary: 'Look up a batch, or discover one account under every provider',
        description:
          'Rate limited per client, counted in lookups: each item of a batch and each provider of a discovery, a name the directory does not know counting `absentLookupCost` (default 6), charged before the work (section 7). With `lookups`, each is looked up in order; with only `discover`, a discovery proof is answered. If both are given, `lookups` is answered and `discover` ignored.',
        requestBody: body(
          {
            type: 'object',
            additionalProperties: false,
            oneOf: [{ required: ['lookups'] }, { required: ['discover'] }],
            properties: { lookups: arr(lookupItem, { minItems: 1, maxItems: 32 }), discover: str('An account.') },
          },
          '16 KiB',
        ),
        responses: {
          200: ok('The lookup proofs in request order, or the discovery proof.', {
            oneOf: [obj({ lookups: arr(ref('LookupProof')) }), ref('DiscoveryProof')],
          }),
          ...lookupErrors({ 413: ['too_large'] }),
        },
      },
    },
    '/v1/history/{provider}/{account}': {
      get: {
        operationId: 'history',
        tags: ['directory'],
        summary: 'The history of one account',
        description: 'Rate limited per client.',
        parameters: [
          provider,
          account,
          {
            name: 'since',
            in: 'query',
            required: false,
            description:
              'Versions after this one (default 0: all); decimal without leading zeros, at most the latest version.',
            schema: { type: 'integer', minimum: 0, maximum: MAX_SAFE, default: 0 },
          },
        ],
        responses: { 200: ok('The history proof.', ref('HistoryProof')), ...lookupErrors() },
      },
    },
    '/v1/monitor/{provider}/{account}': {
      get: {
        operationId: 'monitor',
        tags: ['directory'],
        summary: "The owner's check of one account at the version it knows",
        description: 'Rate limited per client. Compressed with gzip when the client accepts it.',
        parameters: [
          provider,
          account,
          {
            name: 'version',
            in: 'query',
            required: true,
            description: 'The version the owner last verified; decimal without leading zeros, at least 1.',
            schema: { type: 'integer', minimum: 1, maximum: MAX_SAFE },
          },
        ],
        responses: { 200: ok('The monitor proof.', ref('MonitorProof')), ...lookupErrors() },
      },
    },
    '/v1/bindings': {
      post: {
        operationId: 'publish',
        tags: ['directory'],
        summary: 'Publish provider-signed statements',
        description:
          'Rate limited before any signature is checked: each statement counts against its client address and its provider (section 7). Each statement is checked as in section 16 and answered on its own: a refused one is `{"status":"refused","error":{...}}` in `results`. Resubmitting an identical statement answers the same outcome (idempotent). If every statement is refused, the first refusal is the response, with its status.',
        parameters: [WAIT],
        requestBody: body(obj({ statements: arr(signed, { minItems: 1, maxItems: 100 }) }), '2 MiB'),
        responses: {
          200: ok(
            'With `?wait=1`: every accepted statement committed (or refused meanwhile).',
            obj({ results: arr({ oneOf: [committedItem, ref('Refused')] }) }),
          ),
          202: ok(
            'Accepted and durably queued, each with a receipt signed by the log (kt/v2/receipt, with a deadline).',
            obj({ results: arr({ oneOf: [accepted, ref('Refused')] }) }),
          ),
          ...errors({
            400: ['bad_request', ...STATEMENT_CODES],
            403: [
              'bad_signature',
              'namespace_violation',
              'wrong_credential',
              'unknown_provider',
              'cert_revoked',
              'cert_expired',
              'bad_continuity',
              'bad_keytrans_update',
            ],
            404: ['unknown_credential'],
            409: ['version_conflict', 'version_gap'],
            413: ['too_large', 'statement_too_large'],
            503: [...QUEUE_CODES, 'overloaded'],
            rateLimited: true,
          }),
        },
      },
    },
    '/v1/providers': {
      post: {
        operationId: 'enrolProvider',
        tags: ['operator'],
        summary: 'Enrol a provider credential',
        security: operator,
        description: 'Validates the chain (section 13.2) and queues the enrolment for the next epoch.',
        parameters: [WAIT],
        requestBody: body(
          obj({
            chain: {
              oneOf: [
                str('PEM text: CERTIFICATE blocks, leaf first.'),
                arr(b64('A DER certificate'), { minItems: 1, description: 'Leaf first.' }),
              ],
            },
          }),
          '64 KiB',
        ),
        responses: {
          200: ok('With `?wait=1`: committed.', withCommit({ providerId: str(), status: { const: 'committed' } })),
          202: ok('Queued.', obj({ providerId: str(), status: { const: 'accepted' } })),
          ...queueErrors(CERT_CODES, { 400: ['bad_request', 'cert_parse'], 409: ['already_enrolled'] }),
        },
      },
    },
    '/v1/providers/revoke': {
      post: {
        operationId: 'revokeProvider',
        tags: ['operator'],
        summary: 'Revoke a provider credential',
        security: operator,
        description: 'Answered once the revocation has committed.',
        requestBody: body(
          obj({
            providerId: str(),
            fingerprint: str('Hex SHA-256 of the leaf TBSCertificate: 64 lower-case hex digits.', {
              pattern: '^[0-9a-f]{64}$',
            }),
            reason: str(),
          }),
          '64 KiB',
        ),
        responses: {
          200: ok(
            'Committed.',
            withCommit({
              providerId: str(),
              fingerprint: str(undefined, { pattern: '^[0-9a-f]{64}$' }),
              status: { const: 'committed' },
            }),
          ),
          ...queueErrors(undefined, { 400: ['bad_request'], 404: ['unknown_credential'] }),
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the API served by `createApp`, for the log of `origin`. */
export function openApiDocument(opts: { origin: string; serverUrl?: string }): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Key transparency directory',
      version: '1',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description: [
        `A C2SP tlog-tiles log (origin \`${opts.origin}\`) and the key transparency directory on it (docs/PROTOCOL.md, sections 6, 7, 16, 17).`,
        'Every error is JSON `{"error":{"code","message"}}`; the codes of each response are listed in `x-error-codes`.',
        'An unknown route or method answers 404 `not_found`; a server run without a directory answers so on the `/v1/lookup`, `/v1/history`, `/v1/bindings` and `/v1/providers` routes.',
        'Byte strings are canonical base64; lists of hashes are one base64 string of the concatenated 32-byte hashes.',
        "Every response carries `X-Request-Id` (components `headers.RequestId`): the request's own `X-Request-Id` when it is 1 to 64 characters of `A-Z a-z 0-9 . _ : -`, else 32 hex digits the server made; the server's log lines about the request carry it (docs/PROTOCOL.md, section 7).",
        'Browsers (CORS): the `log` routes, `/v1/config` and this document answer any origin; the lookup, history and daily-check routes only the origins the operator lists (none by default); the other routes never answer cross-origin (docs/PROTOCOL.md, section 7).',
      ].join('\n\n'),
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [
      { name: 'log', description: 'The tlog-tiles read API.' },
      { name: 'operations', description: 'Configuration and monitoring.' },
      { name: 'directory', description: 'Lookups and publication.' },
      { name: 'operator', description: 'Provider enrolment and revocation (bearer token).' },
      {
        name: 'keytrans',
        description: "Each provider's IETF KEYTRANS deployment (draft-05; binary bodies, section 22).",
      },
    ],
    paths: { ...logPaths(opts.origin), ...opsPaths(), ...directoryPaths(), ...keyTransPaths() },
    components: {
      schemas: schemas(),
      securitySchemes: {
        operatorToken: {
          type: 'http',
          scheme: 'bearer',
          description: "The operator token (the data directory's `operator.token`), compared in constant time.",
        },
      },
      headers: {
        RetryAfter: header('Seconds to wait before retrying.', { type: 'integer', minimum: 1 }),
        RequestId: header('The request id, on every response (docs/PROTOCOL.md, section 7).', {
          type: 'string',
          pattern: '^[A-Za-z0-9._:-]{1,64}$',
        }),
      },
      responses: {
        RateLimited: {
          ...err('Too many requests from this client (token bucket per client).', ['rate_limited'], true),
        },
        Internal: { ...err('Anything unexpected; the message is always `internal error`.', ['internal']) },
      },
    },
  };
}
