/**
 * The durable queue of receipted statements (docs/PROTOCOL.md section 16), between the directory's memory
 * and its store: the row a validated statement is written as before its receipt is signed
 * (`queueRowFor`), and the job a stored row becomes again when the directory opens after a restart
 * (`jobFromQueueRow`), signed by the credential the row names even if that credential was revoked since
 * (a revocation applies to statements accepted after it). The default receipt deadline is here too, and
 * the group commit of rows (`QueueWriter`): every row written in the same turn of the event loop goes to
 * the store in one transaction, so that a burst of submissions costs one durable commit, not one each.
 */
import { decodeStatement } from '../../verifier/formats/statement-binary.js';
import type { CredentialRegistry } from './credentials.js';
import { deferred, type Job, type NewSubmission } from './epoch-plan.js';
import { DirectoryError } from './errors.js';
import type { DirectoryStore, QueueRow } from './store.js';

/** How long after its acceptance a receipted statement is promised to commit, by default (5 minutes). */
export const DEFAULT_RECEIPT_DEADLINE_MS = 5 * 60 * 1000;

export type StatementJob = Extract<Job, { kind: 'statement' }>;

/** The queue row of a validated statement accepted at `acceptedAt`, promised by `deadline`. */
export function queueRowFor(sub: NewSubmission, acceptedAt: number, deadline: number): Omit<QueueRow, 'id'> {
  return {
    label: sub.label,
    version: sub.statement.version,
    statement: sub.statementBytes,
    signature: sub.signature,
    credentialIndex: sub.credential.logIndex,
    vrfProof: sub.vrfProof,
    keytransSignature: sub.keytransSignature,
    acceptedAt,
    deadline,
  };
}

/**
 * The job of a stored queue row. The statement was validated when it was accepted; here it is only decoded
 * (its keys were checked then, under the rules of the release that accepted it). A row that does not decode
 * or names a credential the directory does not know means the store is corrupt.
 */
export function jobFromQueueRow(row: QueueRow, credentials: CredentialRegistry): StatementJob {
  const credential = credentials.get(row.credentialIndex);
  if (!credential)
    throw new DirectoryError('corrupt_directory', `queued statement ${row.id} names an unknown credential`);
  let statement;
  try {
    statement = decodeStatement(row.statement, { checkPublicKeys: false });
  } catch (e) {
    throw new DirectoryError(
      'corrupt_directory',
      `queued statement ${row.id} does not decode: ${(e as Error).message}`,
    );
  }
  if (statement.version !== row.version)
    throw new DirectoryError('corrupt_directory', `queued statement ${row.id} is not of the version its row names`);
  const sub: NewSubmission = {
    kind: 'new',
    statement,
    statementBytes: row.statement,
    signature: row.signature,
    label: row.label,
    vrfProof: row.vrfProof,
    credential,
    keytransSignature: row.keytransSignature ?? null,
  };
  return {
    kind: 'statement',
    sub,
    done: deferred(),
    queueId: row.id,
    acceptedAt: row.acceptedAt,
    deadline: row.deadline,
  };
}

interface WaitingRow {
  row: Omit<QueueRow, 'id'>;
  stored: (id: number) => void;
  failed: (e: unknown) => void;
}

/**
 * Group commit of queue rows: `write` resolves with the row's id once the row is durable. The rows written
 * before the next turn of the event loop (a timer of 0 ms: Node and Workers both have one) are stored
 * together, in the order they came, by one `enqueue` of the store: one transaction, so all or none. A burst
 * of concurrent submissions then pays one commit (on Node, one sync of the WAL) instead of one each; a lone
 * submission waits one timer tick (about 1 ms) more.
 */
export class QueueWriter {
  private waiting: WaitingRow[] = [];

  constructor(private readonly store: Pick<DirectoryStore, 'enqueue'>) {}

  write(row: Omit<QueueRow, 'id'>): Promise<number> {
    if (this.waiting.length === 0) setTimeout(() => this.flush(), 0);
    return new Promise((stored, failed) => this.waiting.push({ row, stored, failed }));
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    let ids: number[];
    try {
      ids = this.store.enqueue(batch.map((w) => w.row));
    } catch (e) {
      for (const w of batch) w.failed(e);
      return;
    }
    batch.forEach((w, i) => w.stored(ids[i]));
  }
}
