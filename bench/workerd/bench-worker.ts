/**
 * The Worker of the Durable Object benchmark (bench/durable-object-bench.ts): the production Worker, whose
 * sequencer also answers `POST /__bench/build?count=N`, which commits N more accounts built below the VRF
 * (bench/scale-build.ts) into the object's own storage through the project's Durable Object storage code (it
 * continues what is stored if the object was restarted meanwhile). The
 * benchmark then restarts workerd and measures the object opening that storage and serving lookups; the
 * builder's state (in this instance's memory) is gone by then. Never deployed: the production Worker has no
 * such route.
 */
import worker, { LogSequencer as ProductionSequencer } from '../../api/worker/worker.js';
import { DoDirectoryStore } from '../../api/worker/do-directory-store.js';
import { DoLogStorage } from '../../api/worker/do-log-storage.js';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { ScaleBuilder } from '../scale-build.js';

export default worker;
export { LookupLimiterObject } from '../../api/worker/worker.js';

export class LogSequencer extends ProductionSequencer {
  private builder: ScaleBuilder | undefined;

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
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
}
