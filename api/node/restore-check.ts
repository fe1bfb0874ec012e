/**
 * Restore safety: a server started on a restored backup (its data directory holds the marker of
 * api/node/restore-marker.ts) is read-only until it knows that the checkpoint it holds is the newest the log
 * ever published. Until then it serves the log and lookups, but its signer refuses to sign and its
 * directory refuses submissions, enrolments and revocations and closes no epoch (503 `read_only`, with the
 * reason, which /healthz reports too). The copy's checkpoint is checked against the log's witnesses and a
 * published checkpoint the operator supplies (api/node/restore-evidence.ts); a proof that the log published
 * past the copy keeps it read-only for good and says why: the sizes seen, and that receipts signed after the
 * backup time may not be honoured. With no proof either way, the operator's `--accept-restore SIZE` (the
 * copy's tree size, typed) makes it writable; without it, the check is repeated every 30 s while a source
 * may still answer. Once the copy is known to be the newest, the marker is removed durably and only then
 * does the server sign again. The Node server only: the Worker's Durable Object is not backed up this way.
 */
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey, splitNote, type Ed25519NoteSigner } from '../../wasm-free-crypto/note.js';
import { parseCheckpoint } from '../../verifier/formats/checkpoint.js';
import type { Directory } from '../../log/directory/directory.js';
import { DirectoryError } from '../../log/directory/errors.js';
import type { LogHead } from '../../log/merkle/storage.js';
import { errorFields, type Logger } from '../app/logger.js';
import { ConfigError } from '../wiring/settings.js';
import type { DataDir } from './data-dir.js';
import { publishedFinding, witnessFinding, type CopyHead, type Finding } from './restore-evidence.js';
import { readRestoreMarker, removeRestoreMarker, RESTORE_MARKER, type RestoreMarker } from './restore-marker.js';

/** How the operator lets a restored backup sign again (`kt serve` flags). */
export interface RestoreOptions {
  /** A file or http(s) URL holding the newest checkpoint the log published (`--published-checkpoint`). */
  publishedCheckpoint?: string;
  /** The copy's tree size, typed by the operator (`--accept-restore SIZE`): accept it when nothing proves it stale. */
  acceptRestore?: number;
}

/** How long to wait before checking again while no source proved anything. */
const RETRY_MS = 30_000;

/** The copy's checkpoint from the log's head, checked against what the marker says the backup held. */
function copyHead(head: LogHead, marker: RestoreMarker, dir: string): CopyHead {
  const cp = parseCheckpoint(splitNote(utf8(head.checkpoint)).text);
  if (cp.origin !== marker.origin || cp.size !== marker.treeSize || !equalBytes(cp.rootHash, marker.rootHash))
    throw new ConfigError(
      `${dir}/${RESTORE_MARKER} says the backup holds tree size ${marker.treeSize}, but log.db holds ${cp.size} ` +
        `(or another root): log.db is not the backup's; restore the backup again`,
    );
  return { size: cp.size, rootHash: cp.rootHash, note: head.checkpoint };
}

/** The one verdict of all findings: a proof of staleness wins, then a refusal, then a proof of newest. */
function decide(findings: Finding[], accepted: boolean): Finding {
  for (const kind of ['stale', 'refused', 'newest'] as const) {
    const found = findings.filter((f) => f.kind === kind);
    if (found.length > 0) return { kind, detail: found.map((f) => f.detail).join('; ') };
  }
  if (accepted) return { kind: 'newest', detail: 'the operator accepted the restore (--accept-restore)' };
  return { kind: 'unknown', detail: findings.map((f) => f.detail).join('; ') };
}

export class RestoreGate {
  private reason: string | null;
  private directory: Directory | null = null;
  private head: CopyHead | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  private constructor(
    private readonly data: DataDir,
    private readonly marker: RestoreMarker,
    private readonly opts: RestoreOptions,
    private readonly logger: Logger,
  ) {
    this.reason = `${this.about()}; checking that it is the newest the log published`;
  }

  /** The gate of a data directory that holds a restored backup's marker, or null for any other. */
  static open(data: DataDir, opts: RestoreOptions, logger: Logger): RestoreGate | null {
    const marker = readRestoreMarker(data.dir);
    if (!marker) {
      if (opts.acceptRestore !== undefined || opts.publishedCheckpoint !== undefined)
        logger.warn('restore_options_ignored', {
          message: `${data.dir} is not a restored backup (no ${RESTORE_MARKER}): the restore options are ignored`,
        });
      return null;
    }
    if (marker.origin !== data.origin)
      throw new ConfigError(`${data.dir}/${RESTORE_MARKER} is of the log ${marker.origin}, not ${data.origin}`);
    if (opts.acceptRestore !== undefined && opts.acceptRestore !== marker.treeSize)
      throw new ConfigError(
        `--accept-restore ${opts.acceptRestore} does not name this backup: its tree size is ${marker.treeSize}`,
      );
    return new RestoreGate(data, marker, opts, logger);
  }

  private about(): string {
    const time = new Date(this.marker.backupTime).toISOString();
    return `read-only: this data directory is a backup taken at ${time}, holding tree size ${this.marker.treeSize}`;
  }

  /** The log's signer, refusing to sign while the copy is read-only. */
  guard(signer: Ed25519NoteSigner): Ed25519NoteSigner {
    return {
      ...signer,
      sign: (text) => {
        if (this.reason) throw new DirectoryError('read_only', this.reason);
        return signer.sign(text);
      },
    };
  }

  /** Takes the stored head of the log, before anything else opens it: it must be the backup's. */
  matchLog(head: LogHead | null): void {
    if (!head) throw new ConfigError(`${this.data.dir}/log.db holds no log, but ${RESTORE_MARKER} says it is a backup`);
    this.head = copyHead(head, this.marker, this.data.dir);
  }

  /** Takes the opened directory, which it makes read-only. */
  attach(directory: Directory | null): void {
    this.directory = directory;
    directory?.refuseWrites(this.reason);
    this.logReadOnly();
  }

  private logReadOnly(): void {
    const { treeSize, backupTime } = this.marker;
    this.logger.warn('restore_read_only', {
      message: this.reason,
      treeSize,
      backupTime: new Date(backupTime).toISOString(),
    });
  }

  /** Checks the copy's checkpoint now, and again later while nothing proved anything. */
  async check(): Promise<void> {
    if (!this.head || !this.reason || this.stopped) return;
    const findings: Finding[] = [];
    const witnesses = await witnessFinding(this.data.settings.witnesses, this.data.settings.witnessQuorum, this.head);
    if (witnesses) findings.push(witnesses);
    if (this.opts.publishedCheckpoint !== undefined) {
      const verifier = parseVerifierKey(this.data.signer.verifierKey);
      findings.push(await publishedFinding(this.opts.publishedCheckpoint, this.data.origin, verifier, this.head));
    }
    const verdict = decide(findings, this.opts.acceptRestore !== undefined);
    if (this.stopped) return;
    if (verdict.kind === 'newest') return this.becomeWritable(verdict.detail);
    this.refuse(verdict, findings.length > 0);
    if (verdict.kind === 'unknown' && findings.length > 0) this.timer = setTimeout(() => this.checkAgain(), RETRY_MS);
  }

  private checkAgain(): void {
    this.check().catch((e) => this.logger.error('restore_check_failed', errorFields(e))); // still read-only
  }

  /** Stops checking (the server is closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private refuse(verdict: Finding, anySource: boolean): void {
    const queued = this.directory?.queueDepth ?? 0;
    const time = new Date(this.marker.backupTime).toISOString();
    const receipts =
      `receipts the log signed after ${time} for statements not in this copy (tree size ${this.marker.treeSize}) ` +
      `may not be honoured` +
      (queued > 0
        ? `; the ${queued} receipted statement(s) queued in this copy are kept, to commit if it becomes writable`
        : '');
    const override =
      `only if you know the log published nothing after this backup, --accept-restore ${this.marker.treeSize} ` +
      '(dangerous: if it did, this server would fork the log)';
    const how = anySource
      ? `checking again in 30 s (or restart with, ${override})`
      : "nothing to check it against: configure the log's witnesses in config.json, or restart with " +
        `--published-checkpoint FILE|URL (the newest checkpoint the log served), or, ${override}`;
    const why: Record<Finding['kind'], string> = {
      stale: `it is stale and will never sign, since that would fork the log: ${verdict.detail}; ${receipts}; restore a newer backup or the original data directory`,
      refused: `the evidence offered does not show it is the newest, so it does not sign: ${verdict.detail}; ${receipts}`,
      unknown: `it is not known to be the newest the log published, so it does not sign: ${verdict.detail ? `${verdict.detail}; ` : ''}${receipts}; ${how}`,
      newest: '',
    };
    this.setReason(`${this.about()}; ${why[verdict.kind]}`);
  }

  private setReason(reason: string): void {
    const changed = reason !== this.reason;
    this.reason = reason;
    this.directory?.refuseWrites(reason);
    if (changed) this.logReadOnly();
  }

  /** Removes the marker durably, then lets the directory and the signer work again. */
  private becomeWritable(detail: string): void {
    try {
      removeRestoreMarker(this.data.dir);
    } catch (e) {
      this.setReason(
        `${this.about()}; it is the newest (${detail}), but the marker cannot be removed: ${(e as Error).message}`,
      );
      return;
    }
    this.reason = null;
    this.directory?.refuseWrites(null);
    this.logger.warn('restore_writable', {
      message:
        `the restored backup's checkpoint (tree size ${this.marker.treeSize}) is the newest the log published: ` +
        `${detail}; ${RESTORE_MARKER} removed, the server signs again`,
      treeSize: this.marker.treeSize,
    });
  }
}
