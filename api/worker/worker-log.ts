/**
 * The Worker's structured log (api/app/logger.ts): one JSON line per event through `console.log`, which
 * Workers Logs and `wrangler tail` read as JSON. Shared by the isolate and the Durable Object.
 */
import { jsonLogger } from '../app/logger.js';

export const workerLogger = jsonLogger((line) => console.log(line));
