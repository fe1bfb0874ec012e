/**
 * The KEYTRANS routes in the OpenAPI document (api/app/keytrans-routes.ts, docs/PROTOCOL.md section 22.5): binary
 * bodies, each a draft-05 message in its exact TLS encoding under the media type
 * `application/vnd.kt-directory.keytrans-05`, and the JSON errors of the rest of the API.
 */
import { KEYTRANS_MEDIA_TYPE } from '../../verifier/keytrans/messages.js';
import { arr, b64, errors, int, type Json, obj, ok, pathParam, str } from './openapi-schemas.js';

const provider = pathParam(
  'provider',
  "The provider whose KEYTRANS deployment is asked (the enrolment's provider id).",
);
const binary = (description: string): Json => ({
  description,
  content: { [KEYTRANS_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } },
});

/** One operation: its request and response messages. */
function operation(operationId: string, summary: string, request: string, response: string): Json {
  return {
    post: {
      operationId,
      tags: ['keytrans'],
      summary,
      description: `The body is a draft-ietf-keytrans-protocol-05 \`${request}\`, at most 64 KiB; the answer its \`${response}\`, over the deployment's tree head the served epoch anchored. Rate limited per client as a lookup of an unknown name: \`absentLookupCost\` (default 6) lookups (section 7).`,
      parameters: [provider],
      requestBody: { required: true, ...binary(`A ${request}.`) },
      responses: {
        200: binary(`The ${response}.`),
        ...errors({
          400: ['bad_request', 'kt_bad_last', 'kt_bad_request'],
          404: ['not_found', 'kt_label_absent', 'kt_version_absent'],
          410: ['kt_version_erased', 'kt_version_expired', 'kt_deployment_closed'],
          413: ['too_large'],
          rateLimited: true,
        }),
      },
    },
  };
}

export function keyTransPaths(): Json {
  return {
    '/keytrans/v1/anchor': {
      get: {
        operationId: 'keytransAnchor',
        tags: ['keytrans'],
        summary: "The served epoch's KEYTRANS heads, proven in its checkpoint",
        description:
          "Section 22.7: the served epoch, its checkpoint (with the witnesses' cosignatures), the log index of its KEYTRANS heads entry (type 0x04, just before the epoch head), the entry and its RFC 9162 inclusion proof in the checkpoint's tree. A KEYTRANS client checks the head it verified against it. Rate limited per client: one lookup.",
        responses: {
          200: ok(
            'The anchor.',
            obj({
              epoch: int('The served epoch.'),
              checkpoint: str('The served checkpoint note, with its cosignatures.'),
              index: int('The log index of the KEYTRANS heads entry.'),
              entry: b64('The KEYTRANS heads entry (section 14).'),
              proof: arr(b64('A 32-byte hash of the inclusion proof, leaf to root.')),
            }),
          ),
          ...errors({ 404: ['not_found'], rateLimited: true }),
        },
      },
    },
    '/keytrans/v1/{provider}/config': {
      get: {
        operationId: 'keytransConfig',
        tags: ['keytrans'],
        summary: "The provider's KEYTRANS deployment configuration",
        description:
          'The TLS encoding of the deployment\'s `Configuration` (draft-05 "Tree Head Signature"): every tree head is signed over it, and a provider signs each UpdateTBS over it.',
        parameters: [provider],
        responses: { 200: binary('The encoded Configuration.'), ...errors({ 404: ['not_found'] }) },
      },
    },
    '/keytrans/v1/{provider}/search': operation(
      'keytransSearch',
      'Search for a label',
      'SearchRequest',
      'SearchResponse',
    ),
    '/keytrans/v1/{provider}/monitor': operation(
      'keytransMonitor',
      'Contact monitoring',
      'ContactMonitorRequest',
      'ContactMonitorResponse',
    ),
    '/keytrans/v1/{provider}/owner/init': operation(
      'keytransOwnerInit',
      'Owner initialisation',
      'OwnerInitRequest',
      'OwnerInitResponse',
    ),
    '/keytrans/v1/{provider}/owner/monitor': operation(
      'keytransOwnerMonitor',
      'Owner monitoring',
      'OwnerMonitorRequest',
      'OwnerMonitorResponse',
    ),
  };
}
