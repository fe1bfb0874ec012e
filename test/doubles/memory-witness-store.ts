/**
 * A witness's store in memory, for tests: a witness that may forget what it cosigned on restart could be
 * rolled back, so production witnesses keep their state on disk (`kt witness serve`, cli/witness-command.ts).
 */
import type { WitnessRecord, WitnessStore } from '../../verifier/witness/witness.js';

export class MemoryWitnessStore implements WitnessStore {
  readonly records = new Map<string, WitnessRecord>();
  async latest(origin: string): Promise<WitnessRecord | null> {
    return this.records.get(origin) ?? null;
  }
  async save(origin: string, record: WitnessRecord): Promise<void> {
    this.records.set(origin, { size: record.size, rootHash: record.rootHash.slice() });
  }
}
