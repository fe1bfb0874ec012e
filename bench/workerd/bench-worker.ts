/**
 * The Worker of the Durable Object benchmark (bench/durable-object-bench.ts): the production Worker, whose
 * sequencer also answers `POST /__bench/build?count=N`, which commits N more accounts built below the VRF
 * (bench/scale-build.ts) into the object's own storage through the project's Durable Object storage code (it
 * continues what is stored if the object was restarted meanwhile), and `POST /__bench/settle`, which runs the
 * object's catch-up once, as its alarm does (publication to R2, a bounded run of replication to D1 or of its
 * refill, and with `OBJECT_STORAGE` "edge" one trim's chunk) and answers how many rows the object still holds
 * and whether the publication or the replication has more to do, and `POST /__bench/forget-map`, which deletes the
 * stored map's rows (the storage of a release before the stored map, for the upgrade's figure). `/__bench/object/PATH` is PATH sent to the object itself, past
 * the isolate's own answers from D1, so that the object proves it (from what it holds and what it fetches from
 * D1). The benchmark then restarts workerd and measures the object opening that storage and serving lookups;
 * the builder's state (in this instance's memory) is gone by then. Never deployed: the production Worker has no
 * such routes. With the service binding `D1_HOST`, the object reaches its D1 databases in another workerd
 * (remote-index.ts), so that their memory is not counted as the object's.
 */
import worker, { LogSequencer as ProductionSequencer, type Env } from '../../api/worker/worker.js';
import { DoDirectoryStore } from '../../api/worker/do-directory-store.js';
import { DoLogStorage } from '../../api/worker/do-log-storage.js';
import { SEQUENCER_NAME } from '../../api/worker/sequencer-state.js';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { ScaleBuilder } from '../scale-build.js';
import { withRemoteIndexes } from './remote-index.js';

const OBJECT_PREFIX = '/__bench/object';

export default {
  fetch(request: Parameters<typeof worker.fetch>[0], env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${OBJECT_PREFIX}/`)) return worker.fetch(request, env, ctx);
    url.pathname = url.pathname.slice(OBJECT_PREFIX.length);
    return env.LOG.get(env.LOG.idFromName(SEQUENCER_NAME)).fetch(new Request(url, request));
  },
} satisfies ExportedHandler<Env>;
export { LookupLimiterObject } from '../../api/worker/worker.js';

/** The object's rows of the directory's bulk, by table. */
const HELD = ['dir_accounts', 'dir_versions', 'dir_names', 'dir_map'] as const;

export class LogSequencer extends ProductionSequencer {
  private builder: ScaleBuilder | undefined;

  /** With the service binding `D1_HOST`, the object's D1 databases are in another process (remote-index.ts). */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withRemoteIndexes(env, ['INDEX', 'INDEX_1']));
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__bench/settle') return this.settle();
    if (url.pathname === '/__bench/forget-map') return this.forgetMap();
    if (url.pathname !== '/__bench/build') return super.fetch(request);
    const count = Number(url.searchParams.get('count'));
    const signer = parseSignerKey(this.env.LOG_SIGNER_KEY ?? '');
    this.builder ??= await ScaleBuilder.start(
      {
        storage: new DoLogStorage(this.ctx.storage),
        store: new DoDirectoryStore(this.ctx.storage),
        signer,
        origin: signer.name,
        cacheRows: 10_000, // about 13 MB: the isolate's heap is bounded
      },
      false, // forget each epoch's labels: only first versions are built; resumes after a restart
    );
    await this.builder.addAccounts(this.builder.accounts, count, 1);
    return Response.json({ accounts: this.builder.accounts });
  }

  /** Deletes the stored map's rows: the storage as the release before the stored map left it. */
  private forgetMap(): Response {
    const deleted = this.ctx.storage.sql.exec('DELETE FROM dir_map').rowsWritten;
    return Response.json({ deleted });
  }

  private async settle(): Promise<Response> {
    const more = await this.catchUp();
    const held = Object.fromEntries(
      HELD.map((t) => [t, this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n]),
    );
    return Response.json({ held, more });
  }
}
