/**
 * The optional access log (setting `accessLog`, README "Operations"): one `request` event per answered
 * request, with its id, method (one of the seven common ones, else `OTHER`), route pattern (never the
 * path: `/v1/lookup/:provider/:account` names no account), status and the milliseconds the app took. No
 * query, header, body or client address is logged. Off by default: a line per request is a write per request.
 * The Worker's isolate logs the answers it gives itself (R2, D1) with `logRequest`, as the object's app does.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from './logger.js';
import { requestIdOf } from './request-id.js';
import { methodLabel, routeLabel } from './request-metrics.js';

/** One access-log line: the method as metrics name it, the time rounded to the microsecond. */
export function logRequest(
  logger: Logger,
  r: { requestId: string | undefined; method: string; route: string; status: number; ms: number },
): void {
  const ms = Math.round(r.ms * 1000) / 1000;
  logger.info('request', {
    requestId: r.requestId,
    method: methodLabel(r.method),
    route: r.route,
    status: r.status,
    ms,
  });
}

/** The access-log middleware, mounted after `requestIds` (whose id it logs). */
export function accessLog(logger: Logger, now: () => number = () => performance.now()): MiddlewareHandler {
  return async (c, next) => {
    const started = now();
    await next();
    const status = c.res.status;
    logRequest(logger, {
      requestId: requestIdOf(c),
      method: c.req.method,
      route: routeLabel(c),
      status,
      ms: now() - started,
    });
  };
}
