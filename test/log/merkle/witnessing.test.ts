/**
 * The log operator's side of witnessing (log/merkle/witnessing.ts) through the real Node server (api/node/server.ts)
 * and witnesses served over HTTP (api/app/witness-app.ts) on free ports: every epoch's checkpoint is sent to
 * the configured witnesses and served, in /log/checkpoint and in lookup proofs, with their cosignatures;
 * clients requiring a quorum accept it; a witness that is down, that forgot its state, or that answers with
 * a cosignature by another key is handled without stopping the log.
 */
import { serve, type ServerType } from '@hono/node-server';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { LookupClient } from '../../../verifier/lookup-client/lookup-client.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';
import { Witness } from '../../../verifier/witness/witness.js';
import { openDataDir } from '../../../api/node/data-dir.js';
import { startServer, type RunningServer } from '../../../api/node/server.js';
import { witnessApp } from '../../../api/app/witness-app.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function listen(app: Hono): Promise<{ url: string; server: ServerType }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve({ url: `http://127.0.0.1:${info.port}`, server }),
    );
  });
}

const close = (s: ServerType) => new Promise<void>((r) => s.close(() => r()));

describe('witnessing', () => {
  it('serves each epoch with the cosignatures of the witnesses that answered', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kt-witnessing-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const data = openDataDir(join(root, 'data'), 'example.com/witnessed');
    const logKey = parseVerifierKey(data.signer.verifierKey);
    const signers = ['w1', 'w2'].map((n) => cosigner(`witness.example/${n}`, sha256(utf8(n))));
    const stores = signers.map(() => new MemoryWitnessStore());
    const witnesses = await Promise.all(
      signers.map((s, i) =>
        listen(
          witnessApp(new Witness({ cosigner: s, store: stores[i], logs: [{ origin: data.origin, keys: [logKey] }] })),
        ),
      ),
    );
    // A third "witness" answers with a cosignature by a key other than the one configured for it.
    const impostor = cosigner('witness.example/w3', sha256(utf8('not w3')));
    const fake = await listen(
      witnessApp(
        new Witness({
          cosigner: impostor,
          store: new MemoryWitnessStore(),
          logs: [{ origin: data.origin, keys: [logKey] }],
        }),
      ),
    );
    const w3 = cosigner('witness.example/w3', sha256(utf8('w3')));
    // A fourth answers with a blank line and a cosignature over other text: appended to the note, it would
    // move where the note's signatures begin, and clients pinning that witness would refuse the note.
    const w4 = cosigner('witness.example/w4', sha256(utf8('w4')));
    const crafted = new Hono().post('/add-checkpoint', async (c) => {
      const body = await c.req.text();
      const note = body.slice(body.indexOf('\n\n') + 2);
      const line = `\u2014 ${w4.name} ${Buffer.concat([Buffer.from([w4.keyId >>> 24, (w4.keyId >>> 16) & 255, (w4.keyId >>> 8) & 255, w4.keyId & 255]), w4.sign(utf8(`${note}\nX\n`))]).toString('base64')}\n`;
      return c.text(`\nX\n\n${line}`);
    });
    const craftedServer = await listen(crafted);
    cleanups.push(() => close(craftedServer.server));
    const config = {
      origin: data.origin,
      witnesses: [
        ...witnesses.map((w, i) => ({ key: signers[i].verifierKey, url: w.url })),
        { key: w3.verifierKey, url: fake.url },
        { key: w4.verifierKey, url: craftedServer.url },
      ],
      witnessQuorum: 2,
    };
    writeFileSync(join(root, 'data', 'config.json'), JSON.stringify(config));
    const server: RunningServer = await startServer({ dataDir: join(root, 'data'), port: 0, host: '127.0.0.1' });
    cleanups.push(
      () => server.close(),
      () => close(fake.server),
      ...witnesses.map((w) => () => close(w.server)),
    );
    const directory = server.directory!;
    const keys = [...signers, w3, w4].map((s) => parseCosignerKey(s.verifierKey));
    const cosignedBy = (note: string) =>
      openCheckpoint(note, data.origin, logKey, keys)
        .cosignatures.map((c) => c.name)
        .sort();
    const pins = { origin: data.origin, logKey, vrfKey: directory.vrfPublicKey };
    const client = (quorum: number) =>
      new LookupClient({ baseUrl: server.url, pins: { ...pins, policy: { witnesses: keys, quorum } } });

    await directory.closeEpoch(true);
    const served = await (await fetch(`${server.url}/log/checkpoint`)).text();
    expect(cosignedBy(served)).toEqual(['witness.example/w1', 'witness.example/w2']);
    // No provider is enrolled here: the lookup proves that, under the checkpoint the policy accepted.
    expect((await client(2).lookup('chat.example', 'x@chat.example')).status).toBe('not_enrolled');
    expect(await (await fetch(`${server.url}/v1/config`)).json()).toMatchObject({
      witnesses: config.witnesses.map((w) => w.key),
      witnessQuorum: 2,
    });
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
    // The two witnesses whose answers were refused are counted, once per checkpoint sent; the others not.
    const failures = (await (await fetch(`${server.url}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('kt_witness_failures_total'))
      .map((l) => /witness="([^"]+)"\} (\d+)$/.exec(l)!.slice(1));
    expect(failures.map(([url]) => url).sort()).toEqual([fake.url, craftedServer.url].sort());
    expect(failures.every(([, n]) => Number(n) >= 1)).toBe(true);

    // A witness that forgot its state (409 with size 0) is caught up from there, on the same epoch.
    stores[0].records.clear();
    await directory.closeEpoch(true);
    expect(cosignedBy(directory.servedSnapshot.checkpoint)).toEqual(['witness.example/w1', 'witness.example/w2']);
    expect(stores[0].records.get(data.origin)?.size).toBe(directory.servedSnapshot.treeSize);

    // One witness down: the epoch is still served, with one cosignature; a quorum of two is not met.
    await close(witnesses[1].server);
    await directory.closeEpoch(true);
    expect(cosignedBy(directory.servedSnapshot.checkpoint)).toEqual(['witness.example/w1']);
    await expect(client(2).lookup('chat.example', 'x@chat.example')).rejects.toMatchObject({ code: 'witness_quorum' });
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({
      ok: false,
      degraded: ['the last checkpoint has 1 witness cosignature(s), fewer than the advised quorum of 2'],
      treeSize: directory.servedSnapshot.treeSize,
    });
    expect((await client(1).lookup('chat.example', 'x@chat.example')).status).toBe('not_enrolled');
  });
});
