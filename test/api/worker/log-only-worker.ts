/**
 * The Worker of the `log` test project (vitest.workers.config.ts): the production Worker, whose sequencer
 * also answers `POST /__test/append` on a log-only deployment (test/api/worker/test-append.ts), so that the
 * tests can fill a plain log with arbitrary entries. Raw entries would break a directory's log, and the
 * production Worker (api/worker/worker.ts) has no such route.
 */
import worker, { LogSequencer as ProductionSequencer } from '../../../api/worker/worker.js';
import { handleTestAppend, TEST_APPEND_PATH } from './test-append.js';

export default worker;
export { LookupLimiterObject } from '../../../api/worker/worker.js';

export class LogSequencer extends ProductionSequencer {
  override async fetch(request: Request): Promise<Response> {
    if (!this.state || this.state.directory || new URL(request.url).pathname !== TEST_APPEND_PATH) {
      return super.fetch(request);
    }
    const res = await handleTestAppend(request, this.state.appender);
    await this.publish();
    return res;
  }
}
