/**
 * Round trips of the KEYTRANS operations for the responders' tests (draft-ietf-keytrans-protocol-05, "User
 * Operations"): a request from a client holding a given state, answered by the responder (log/keytrans/) over a
 * MemoryDeployment's view at a given size, sent through its TLS encoding, and verified by the client
 * (verifier/keytrans/) at a clock just after the view's rightmost entry; each returns the request, the response as
 * decoded and the client's result, and throws whatever the responder or the client throws. Also the keys of every
 * version of a search's ladder, recomputed from the response (verifySearch's `retained` holds only those a client
 * in contact monitoring keeps), and the flipping of bits in an encoded response, each copy of which the client must
 * refuse.
 */
import { respondContactMonitor } from '../../log/keytrans/monitor-responder.js';
import { respondOwnerInit, respondOwnerMonitor } from '../../log/keytrans/owner-responder.js';
import { respondSearch } from '../../log/keytrans/search-responder.js';
import { binaryLadder } from '../../verifier/keytrans/binary-ladder.js';
import { computeCommitment } from '../../verifier/keytrans/commitment.js';
import type { GlobalState } from '../../verifier/keytrans/head.js';
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageContext,
  type MessageType,
} from '../../verifier/keytrans/messages.js';
import { type RetainedVersion, verifyContactMonitor } from '../../verifier/keytrans/monitor.js';
import { type OwnerState, verifyOwnerInit, verifyOwnerMonitor } from '../../verifier/keytrans/owner.js';
import { verifySearch } from '../../verifier/keytrans/search.js';
import { encodeVrfInput } from '../../verifier/keytrans/signed-structures.js';
import type {
  ContactMonitorRequest,
  MonitorMapEntry,
  OwnerInitRequest,
  OwnerMonitorRequest,
  SearchRequest,
  SearchResponse,
} from '../../verifier/keytrans/types.js';
import { rightmostDistinguished } from '../../verifier/keytrans/view.js';
import { expect } from 'vitest';
import { utf8 } from '../../wasm-free-crypto/bytes.js';
import type { MemoryDeployment } from './memory-deployment.js';
import { prng } from './prng.js';

export const ctxOf = (d: MemoryDeployment, requestHasVersion?: boolean): MessageContext => ({
  suite: d.config.ciphersuite,
  mode: d.config.mode,
  requestHasVersion,
});

/** The message as the client receives it: encoded by the log, decoded by the client. */
export function wire<K extends MessageType>(type: K, value: Message<K>, ctx: MessageContext): Message<K> {
  return decodeMessage(type, encodeMessage(type, value, ctx), ctx);
}

/** The greatest version of `label` the deployment holds at `size`, null for none. */
export function greatestAt(d: MemoryDeployment, label: string, size: number): number | null {
  const n = d.view(size).versions(utf8(label)).length;
  return n === 0 ? null : n - 1;
}

/** A search sent by a client holding `state`, answered at `size` and verified; returns the client's result. */
export function search(
  d: MemoryDeployment,
  state: GlobalState | null,
  size: number,
  label: string,
  version: number | null,
) {
  const request: SearchRequest = { last: state?.treeHead.treeSize ?? null, label: utf8(label), version };
  const response = wire('SearchResponse', respondSearch(d.view(size), request), ctxOf(d, version !== null));
  const result = verifySearch(d.suite, d.config, state, request, response, d.now(size));
  return { request, response, result };
}

/** The keys a client retains from a search response for monitoring: each ladder version's output and commitment. */
export function retainedFrom(
  d: MemoryDeployment,
  request: SearchRequest,
  response: SearchResponse,
  into = new Map<number, RetainedVersion>(),
) {
  const target = request.version ?? response.version!;
  binaryLadder(target).forEach((v, i) => {
    const step = response.binaryLadder[i];
    const vrfOutput = d.suite.vrfVerify(
      d.config.vrfPublicKey,
      encodeVrfInput({ label: request.label, version: v }),
      step.proof,
    );
    const opening = { opening: response.opening, label: request.label, version: v, update: response.value };
    const commitment = v === target ? computeCommitment(d.suite, opening) : step.commitment;
    if (!into.get(v)?.commitment) into.set(v, { vrfOutput, commitment });
  });
  return into;
}

/** A contact monitoring of `label` sent by a client holding `state` and `entries`, answered at `size`, verified. */
export function monitor(
  d: MemoryDeployment,
  state: GlobalState,
  retained: Map<number, RetainedVersion>,
  size: number,
  label: string,
  entries: MonitorMapEntry[],
) {
  const request: ContactMonitorRequest = { last: state.treeHead.treeSize, label: utf8(label), entries };
  const response = wire('ContactMonitorResponse', respondContactMonitor(d.view(size), request), ctxOf(d));
  const result = verifyContactMonitor(d.suite, d.config, state, retained, request, response, d.now(size));
  return { request, response, result };
}

/** An owner initialization from `start`, sent by a client holding `state`, answered at `size`, verified. */
export function ownerInit(d: MemoryDeployment, state: GlobalState | null, size: number, label: string, start: number) {
  const request: OwnerInitRequest = { last: state?.treeHead.treeSize ?? null, label: utf8(label), start };
  const response = wire('OwnerInitResponse', respondOwnerInit(d.view(size), request), ctxOf(d));
  const result = verifyOwnerInit(d.suite, d.config, state, request, response, d.now(size));
  return { request, response, result };
}

/** An owner monitoring by an owner holding `state`, `owner` and `retained`, answered at `size`, verified. */
export function ownerMonitor(
  d: MemoryDeployment,
  state: GlobalState,
  owner: OwnerState,
  retained: Map<number, RetainedVersion>,
  size: number,
  label: string,
) {
  const request: OwnerMonitorRequest = {
    last: state.treeHead.treeSize,
    label: utf8(label),
    entries: [],
    start: owner.starting,
    greatestVersion: owner.versionAtStarting,
  };
  const response = wire('OwnerMonitorResponse', respondOwnerMonitor(d.view(size), request), ctxOf(d));
  const result = verifyOwnerMonitor(d.suite, d.config, state, owner, retained, request, response, d.now(size));
  return { request, response, result };
}

/** The rightmost distinguished log entry at `size`, as the client computes it. */
export const startAt = (d: MemoryDeployment, size: number) =>
  rightmostDistinguished(size, (p) => d.timestamp(p), d.config.reasonableMonitoringWindow);

/**
 * Flips one bit of the encoded response at each of `positions` (byte i, bit i mod 8): the client must refuse each,
 * in decoding or in verifying.
 */
export function expectFlipsRefused<K extends MessageType>(
  type: K,
  bytes: Uint8Array,
  ctx: MessageContext,
  verify: (response: Message<K>) => unknown,
  positions: Iterable<number>,
): number {
  expect(() => verify(decodeMessage(type, bytes, ctx))).not.toThrow();
  let flips = 0;
  for (const i of positions) {
    const tampered = bytes.slice();
    tampered[i] ^= 1 << (i % 8);
    expect(() => verify(decodeMessage(type, tampered, ctx)), `${type}: bit ${i % 8} of byte ${i}`).toThrow();
    flips++;
  }
  return flips;
}

/** `count` byte positions of a message of `length` bytes, spread evenly from a seeded start. */
export function spread(length: number, count: number, seed: number): number[] {
  const random = prng(seed);
  const offset = Math.floor(random() * length);
  return Array.from(
    { length: Math.min(count, length) },
    (_, k) => (offset + Math.floor((k * length) / count)) % length,
  );
}

export const allBytes = (length: number) => Array.from({ length }, (_, i) => i);
