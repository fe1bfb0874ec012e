/**
 * The TLS codecs of draft-ietf-keytrans-protocol-05's requests and responses ("User Operations": Search, Contact
 * Monitor, Owner Initialization, Owner Monitoring, Updating a Label; "Third Parties": ManagerUpdateRequest and
 * AuditorUpdate), built from the parts in structures.ts. `encodeMessage(type, value, ctx)` and
 * `decodeMessage(type, bytes, ctx)` take the message's name as the draft spells it; decoding refuses trailing
 * bytes. A SearchResponse carries the version exactly when its request had none, so decoding it needs
 * `ctx.requestHasVersion`. ManagerUpdateRequest follows katie's field order (keytrans/README.md, deviation 1).
 */
import {
  readBinaryLadderStep,
  readCombinedTreeProof,
  readFullTreeHead,
  readPrefixLeaf,
  readPrefixProof,
  readOpening,
  readUpdateInfo,
  readUpdateValue,
  writeBinaryLadderStep,
  writeCombinedTreeProof,
  writeFullTreeHead,
  writePrefixLeaf,
  writePrefixProof,
  writeOpening,
  writeUpdateInfo,
  writeUpdateValue,
  type StructureContext,
} from './structures.js';
import { decodeWhole, encodeWith, TlsError, type TlsReader, type TlsWriter } from './tls.js';
import type {
  AuditorUpdate,
  ContactMonitorRequest,
  ContactMonitorResponse,
  LabelValue,
  ManagerUpdateRequest,
  MonitorMapEntry,
  OwnerInitRequest,
  OwnerInitResponse,
  OwnerMonitorRequest,
  OwnerMonitorResponse,
  SearchRequest,
  SearchResponse,
  UpdateInfo,
  UpdateRequest,
  UpdateResponse,
} from './types.js';

/**
 * The media type of a body that is one of these messages, as the directory serves them (docs/PROTOCOL.md section
 * 22.5); the draft names none.
 */
export const KEYTRANS_MEDIA_TYPE = 'application/vnd.kt-directory.keytrans-05';

/** The context of a message: the deployment's, and for a SearchResponse whether its request had a version. */
export interface MessageContext extends StructureContext {
  requestHasVersion?: boolean;
}

const readLast = (r: TlsReader) => r.optional('last', (e) => e.u64('last'));
const writeLast = (w: TlsWriter, last: number | null) => w.optional(last, 'last', (e, n) => e.u64(n, 'last'));
const readLabel = (r: TlsReader) => r.vector(1, 'label');

const readEntry = (r: TlsReader): MonitorMapEntry => ({
  position: r.u64('MonitorMapEntry.position'),
  version: r.u32('MonitorMapEntry.version'),
});
const writeEntry = (w: TlsWriter, e: MonitorMapEntry) =>
  w.u64(e.position, 'MonitorMapEntry.position').u32(e.version, 'MonitorMapEntry.version');
const readLabelValue = (r: TlsReader): LabelValue => ({ value: r.vector(4, 'LabelValue.value') });
const writeLabelValue = (w: TlsWriter, v: LabelValue) => w.vector(4, v.value, 'LabelValue.value');

/** How one message is read and written. */
interface Codec<T> {
  read(r: TlsReader, ctx: MessageContext): T;
  write(w: TlsWriter, value: T, ctx: MessageContext): void;
}

const searchRequest: Codec<SearchRequest> = {
  read: (r) => ({ last: readLast(r), label: readLabel(r), version: r.optional('version', (e) => e.u32('version')) }),
  write: (w, m) => {
    writeLast(w, m.last).vector(1, m.label, 'label');
    w.optional(m.version, 'version', (e, v) => e.u32(v, 'version'));
  },
};

function requestHasVersion(ctx: MessageContext): boolean {
  if (ctx.requestHasVersion === undefined)
    throw new TlsError('tls_bad_value', 'SearchResponse: whether the request had a version must be given');
  return ctx.requestHasVersion;
}

const searchResponse: Codec<SearchResponse> = {
  read: (r, ctx) => {
    const fullTreeHead = readFullTreeHead(r, ctx);
    const version = requestHasVersion(ctx) ? undefined : r.u32('SearchResponse.version');
    return {
      fullTreeHead,
      ...(version === undefined ? {} : { version }),
      opening: readOpening(r),
      value: readUpdateValue(r, ctx),
      binaryLadder: r.list(1, 'SearchResponse.binary_ladder', (e) => readBinaryLadderStep(e, ctx)),
      search: readCombinedTreeProof(r),
    };
  },
  write: (w, m, ctx) => {
    if (requestHasVersion(ctx) !== (m.version === undefined))
      throw new TlsError('tls_bad_value', 'SearchResponse: a version goes with a request without one, only');
    writeFullTreeHead(w, m.fullTreeHead, ctx);
    if (m.version !== undefined) w.u32(m.version, 'SearchResponse.version');
    writeOpening(w, m.opening);
    writeUpdateValue(w, m.value, ctx);
    w.list(1, m.binaryLadder, 'SearchResponse.binary_ladder', (e, s) => writeBinaryLadderStep(e, s, ctx));
    writeCombinedTreeProof(w, m.search);
  },
};

const contactMonitorRequest: Codec<ContactMonitorRequest> = {
  read: (r) => ({ last: readLast(r), label: readLabel(r), entries: r.list(1, 'entries', readEntry) }),
  write: (w, m) => writeLast(w, m.last).vector(1, m.label, 'label').list(1, m.entries, 'entries', writeEntry),
};

/** ContactMonitorResponse and OwnerMonitorResponse: a full tree head, then a combined tree proof. */
const monitorResponse: Codec<ContactMonitorResponse & OwnerMonitorResponse> = {
  read: (r, ctx) => ({ fullTreeHead: readFullTreeHead(r, ctx), monitor: readCombinedTreeProof(r) }),
  write: (w, m, ctx) => {
    writeFullTreeHead(w, m.fullTreeHead, ctx);
    writeCombinedTreeProof(w, m.monitor);
  },
};

const ownerInitRequest: Codec<OwnerInitRequest> = {
  read: (r) => ({ last: readLast(r), label: readLabel(r), start: r.u64('start') }),
  write: (w, m) => writeLast(w, m.last).vector(1, m.label, 'label').u64(m.start, 'start'),
};

const ownerInitResponse: Codec<OwnerInitResponse> = {
  read: (r, ctx) => ({
    fullTreeHead: readFullTreeHead(r, ctx),
    greatestVersions: r.list(1, 'greatest_versions', (e) => e.u32('greatest version')),
    binaryLadder: r.list(2, 'OwnerInitResponse.binary_ladder', (e) => readBinaryLadderStep(e, ctx)),
    init: readCombinedTreeProof(r),
  }),
  write: (w, m, ctx) => {
    writeFullTreeHead(w, m.fullTreeHead, ctx);
    w.list(1, m.greatestVersions, 'greatest_versions', (e, v) => e.u32(v, 'greatest version'));
    w.list(2, m.binaryLadder, 'OwnerInitResponse.binary_ladder', (e, s) => writeBinaryLadderStep(e, s, ctx));
    writeCombinedTreeProof(w, m.init);
  },
};

const ownerMonitorRequest: Codec<OwnerMonitorRequest> = {
  read: (r) => ({
    last: readLast(r),
    label: readLabel(r),
    entries: r.list(1, 'entries', readEntry),
    start: r.u64('start'),
    greatestVersion: r.optional('greatest_version', (e) => e.u32('greatest_version')),
  }),
  write: (w, m) => {
    writeLast(w, m.last).vector(1, m.label, 'label').list(1, m.entries, 'entries', writeEntry);
    w.u64(m.start, 'start').optional(m.greatestVersion, 'greatest_version', (e, v) => e.u32(v, 'greatest_version'));
  },
};

const updateRequest: Codec<UpdateRequest> = {
  read: (r) => ({
    last: readLast(r),
    label: readLabel(r),
    greatestVersion: r.optional('greatest_version', (e) => e.u32('greatest_version')),
    values: r.list(1, 'values', readLabelValue),
  }),
  write: (w, m) => {
    writeLast(w, m.last).vector(1, m.label, 'label');
    w.optional(m.greatestVersion, 'greatest_version', (e, v) => e.u32(v, 'greatest_version'));
    w.list(1, m.values, 'values', writeLabelValue);
  },
};

const updateInfo: Codec<UpdateInfo> = { read: readUpdateInfo, write: writeUpdateInfo };

const updateResponse: Codec<UpdateResponse> = {
  read: (r, ctx) => ({
    fullTreeHead: readFullTreeHead(r, ctx),
    position: r.u64('position'),
    values: r.list(1, 'values', readLabelValue),
    info: r.list(1, 'info', (e) => updateInfo.read(e, ctx)),
    binaryLadder: r.list(1, 'UpdateResponse.binary_ladder', (e) => readBinaryLadderStep(e, ctx)),
    update: readCombinedTreeProof(r),
  }),
  write: (w, m, ctx) => {
    writeFullTreeHead(w, m.fullTreeHead, ctx);
    w.u64(m.position, 'position').list(1, m.values, 'values', writeLabelValue);
    w.list(1, m.info, 'info', (e, i) => updateInfo.write(e, i, ctx));
    w.list(1, m.binaryLadder, 'UpdateResponse.binary_ladder', (e, s) => writeBinaryLadderStep(e, s, ctx));
    writeCombinedTreeProof(w, m.update);
  },
};

const managerUpdateRequest: Codec<ManagerUpdateRequest> = {
  read: (r, ctx) => ({
    last: readLast(r),
    label: readLabel(r),
    greatestVersion: r.optional('greatest_version', (e) => e.u32('greatest_version')),
    signedVersion: r.u32('signed_version'),
    values: r.list(1, 'values', (e) => readUpdateValue(e, ctx)),
  }),
  write: (w, m, ctx) => {
    writeLast(w, m.last).vector(1, m.label, 'label');
    w.optional(m.greatestVersion, 'greatest_version', (e, v) => e.u32(v, 'greatest_version'));
    w.u32(m.signedVersion, 'signed_version').list(1, m.values, 'values', (e, v) => writeUpdateValue(e, v, ctx));
  },
};

const auditorUpdate: Codec<AuditorUpdate> = {
  read: (r) => ({
    timestamp: r.u64('AuditorUpdate.timestamp'),
    added: r.list(2, 'AuditorUpdate.added', readPrefixLeaf),
    removed: r.list(2, 'AuditorUpdate.removed', readPrefixLeaf),
    proof: readPrefixProof(r),
  }),
  write: (w, m) => {
    w.u64(m.timestamp, 'AuditorUpdate.timestamp').list(2, m.added, 'AuditorUpdate.added', writePrefixLeaf);
    w.list(2, m.removed, 'AuditorUpdate.removed', writePrefixLeaf);
    writePrefixProof(w, m.proof);
  },
};

/** Every message by its name in the draft. */
const MESSAGES = {
  SearchRequest: searchRequest,
  SearchResponse: searchResponse,
  ContactMonitorRequest: contactMonitorRequest,
  ContactMonitorResponse: monitorResponse as Codec<ContactMonitorResponse>,
  OwnerInitRequest: ownerInitRequest,
  OwnerInitResponse: ownerInitResponse,
  OwnerMonitorRequest: ownerMonitorRequest,
  OwnerMonitorResponse: monitorResponse as Codec<OwnerMonitorResponse>,
  UpdateRequest: updateRequest,
  UpdateResponse: updateResponse,
  ManagerUpdateRequest: managerUpdateRequest,
  AuditorUpdate: auditorUpdate,
};

export type MessageType = keyof typeof MESSAGES;
export type Message<K extends MessageType> = (typeof MESSAGES)[K] extends Codec<infer T> ? T : never;

/** The message's exact encoding. */
export function encodeMessage<K extends MessageType>(type: K, value: Message<K>, ctx: MessageContext): Uint8Array {
  const codec = MESSAGES[type] as unknown as Codec<Message<K>>;
  return encodeWith(value, (w, v) => codec.write(w, v, ctx));
}

/** The message `bytes` encode, whole: TlsError if they are malformed or followed by anything. */
export function decodeMessage<K extends MessageType>(type: K, bytes: Uint8Array, ctx: MessageContext): Message<K> {
  const codec = MESSAGES[type] as unknown as Codec<Message<K>>;
  return decodeWhole(bytes, type, (r) => codec.read(r, ctx));
}
