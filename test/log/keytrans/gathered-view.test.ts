/**
 * Answers gathered in rounds from an asynchronous row source (log/keytrans/gathered-view.ts) are the answers of
 * the same responders over the synchronous view, byte for byte, refusals with the same codes, for searches
 * (greatest and fixed version, of held and absent labels), owner initialisations and contact monitoring at many
 * tree sizes of a deployment built in memory; in a bounded number of rounds; and a source whose rows never settle
 * is refused, not looped on.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../../log/keytrans/deployment-view.js';
import {
  type DeploymentRowSource,
  type DeploymentWants,
  gatherAnswer,
  MAX_ROUNDS,
} from '../../../log/keytrans/gathered-view.js';
import { respondContactMonitor } from '../../../log/keytrans/monitor-responder.js';
import { respondOwnerInit } from '../../../log/keytrans/owner-responder.js';
import { respondSearch } from '../../../log/keytrans/search-responder.js';
import { encodeMessage, type MessageType } from '../../../verifier/keytrans/messages.js';
import type { PrefixNode } from '../../../verifier/keytrans/tree-readers.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ctxOf, greatestAt, startAt } from '../../helpers/keytrans-round-trips.js';
import { MemoryDeployment } from '../../helpers/memory-deployment.js';
import { prng } from '../../helpers/prng.js';

const LABELS = Array.from({ length: 24 }, (_, i) => `user${i}`);

/** Sixty epochs in which random labels get new versions (some epochs none, some several). */
function script(): string[][] {
  const random = prng(5);
  return Array.from({ length: 60 }, () => LABELS.filter(() => random() < 0.12));
}

let built: MemoryDeployment | undefined;
const deployment = () => (built ??= new MemoryDeployment({ mode: 'contactMonitoring', epochs: script(), seed: 9 }));

/** The rows of `view` as an asynchronous source would give them, counting its rounds. */
function sourceOver(view: DeploymentView): DeploymentRowSource & { rounds: number } {
  const source = {
    rounds: 0,
    async fetch(w: DeploymentWants) {
      source.rounds++;
      const path = ({ key, position, fromDepth }: DeploymentWants['paths'][number]) => {
        const reader = view.prefixAt(position);
        const out: { node: PrefixNode; sibling: PrefixNode | null }[] = [];
        for (let depth = fromDepth; depth < fromDepth + 64; depth++) {
          const other = key.slice();
          if (depth > 0) other[(depth - 1) >> 3] ^= 1 << (7 - ((depth - 1) & 7));
          const node = reader.node(key, depth);
          out.push({ node, sibling: depth > 0 ? reader.node(other, depth) : null });
          if (node.kind !== 'parent') break;
        }
        return out;
      };
      return {
        entries: w.entries.map((p) => view.entry(p)),
        subtrees: w.subtrees.map((s) => view.logHashes.subtree(s.start, s.end)),
        paths: w.paths.map(path),
        versions: w.labels.map((l) => view.versions(l)),
      };
    },
  };
  return source;
}

/** The encoded answer of `respond` (or its refusal's code) over `view` directly and gathered; and the rounds. */
async function bothWays<R>(view: DeploymentView, respond: (v: DeploymentView) => R, encode: (r: R) => Uint8Array) {
  const outcome = async (run: () => R | Promise<R>) => {
    try {
      return { bytes: encode(await run()) };
    } catch (e) {
      return { code: (e as { code?: string }).code ?? String(e) };
    }
  };
  const source = sourceOver(view);
  const base = { suite: view.suite, config: view.config, treeHead: view.treeHead, searchKey: view.searchKey };
  const direct = await outcome(() => respond(view));
  const gathered = await outcome(() => gatherAnswer(base, source, respond));
  return { direct, gathered, rounds: source.rounds };
}

const encoder =
  <K extends MessageType>(type: K, d: MemoryDeployment, requestHasVersion?: boolean) =>
  (r: unknown) =>
    encodeMessage(type, r as never, ctxOf(d, requestHasVersion));

describe('answers gathered from an asynchronous source', () => {
  it('are the synchronous answers, byte for byte, in a bounded number of rounds', async () => {
    const d = deployment();
    let most = 0;
    for (const size of [1, 2, 7, 16, 31, 45, 60]) {
      const view = d.view(size);
      for (const label of [...LABELS.slice(0, 8), 'nobody']) {
        const greatest = greatestAt(d, label, size);
        const versions = [null, ...(greatest === null ? [0] : [0, greatest, greatest + 1])];
        for (const version of versions) {
          for (const last of [null, Math.max(1, size - 3)]) {
            const request = { last, label: utf8(label), version };
            const encode = encoder('SearchResponse', d, version !== null);
            const { direct, gathered, rounds } = await bothWays(view, (v) => respondSearch(v, request), encode);
            expect(gathered, `${label} v${version} at ${size}`).toEqual(direct);
            most = Math.max(most, rounds);
          }
        }
        const start = startAt(d, size) ?? 0;
        const init = { last: null, label: utf8(label), start };
        const initEncode = encoder('OwnerInitResponse', d);
        const owner = await bothWays(view, (v) => respondOwnerInit(v, init), initEncode);
        expect(owner.gathered, `owner ${label} at ${size}`).toEqual(owner.direct);
        const monitorRequest = { last: size, label: utf8(label), entries: [{ position: 0, version: 0 }] };
        const monitorEncode = encoder('ContactMonitorResponse', d);
        const monitored = await bothWays(view, (v) => respondContactMonitor(v, monitorRequest), monitorEncode);
        expect(monitored.gathered, `monitor ${label} at ${size}`).toEqual(monitored.direct);
      }
    }
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(12);
  }, 120_000);

  it('refuses a source whose rows never settle, after a bounded number of rounds', async () => {
    const view = deployment().view(40);
    let rounds = 0;
    const never: DeploymentRowSource = {
      async fetch(w) {
        rounds++;
        return { entries: w.entries.map(() => view.entry(0)), subtrees: [], paths: [], versions: [] };
      },
    };
    const base = { suite: view.suite, config: view.config, treeHead: view.treeHead, searchKey: view.searchKey };
    const request = { last: null, label: utf8('user1'), version: null };
    await expect(gatherAnswer(base, never, (v) => respondSearch(v, request))).rejects.toMatchObject({
      code: 'deployment_corrupt',
    });
    expect(rounds).toBe(MAX_ROUNDS);
  });
});
