/**
 * The account owner's daily check through a client made by `createClient` (verifier/client/client.ts):
 * every version of the account after `state` checked against the keys the owner made
 * (verifier/owner-monitor/owner-monitor.ts), with the client's kept checkpoint. Apart from `createClient`
 * so that a lookup-only client does not carry the monitor.
 */
import type { KtClient } from './client.js';
import { monitorAccount, type MonitorReport, type MonitorState } from '../owner-monitor/owner-monitor.js';

/** Checks (provider, account) since `state` (MONITOR_START the first time); save the report's `state`. */
export function dailyCheck(
  kt: KtClient,
  provider: string,
  account: string,
  ownerKeys: Uint8Array[],
  state: MonitorState,
): Promise<MonitorReport> {
  return kt.withLookupClient((client) => monitorAccount(client, provider, account, ownerKeys, state));
}
