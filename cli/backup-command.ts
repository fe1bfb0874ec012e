/**
 * `kt backup --data DIR --out DEST`: backs a data directory up while its server runs (api/node/backup.ts:
 * SQLite's online backup of `log.db`, the configuration and the keys, into a new directory 0700 with files
 * 0600) and marks the copy as a restored backup, so that a server started on it stays read-only until it
 * knows the copy's checkpoint is the newest the log published (api/node/restore-check.ts).
 */
import { parseArgs } from 'node:util';
import { toBase64 } from '../wasm-free-crypto/bytes.js';
import { backupDataDir } from '../api/node/backup.js';
import { output, UsageError } from './output.js';

export const BACKUP_HELP = `usage: kt backup --data DIR --out DEST [--json]
Copies the data directory DIR (default ./data), live, into DEST, a new or empty directory: log.db through
SQLite's online backup (one consistent snapshot; the server keeps writing), config.json, the keys, the
operator token and the development CA. DEST is made 0700 and every file in it 0600; it holds the key
material, so keep it as private as the data directory. The copy is marked (restored-backup.json: the
backup's time and checkpoint): a server started on it is read-only until it has checked that this checkpoint
is the newest the log published (with the log's witnesses, or kt serve --published-checkpoint), and it
refuses to sign if the log went on publishing after the backup (README: Operations).`;

export async function backup(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './data' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(BACKUP_HELP), 0);
  if (!values.out) throw new UsageError(`give --out DEST, a new directory for the copy\n${BACKUP_HELP}`);
  const r = await backupDataDir(values.data, values.out);
  const time = new Date(r.backupTime).toISOString();
  const external =
    r.externalRoots.length > 0
      ? `\ntrusted roots named by an absolute path are not copied: ${r.externalRoots.join(', ')}`
      : '';
  output(values.json).result(
    `backed up ${values.data} into ${r.dir} at ${time}: tree size ${r.treeSize}, root ${toBase64(r.rootHash)}\n` +
      `copied log.db, ${r.files.join(', ')}${external}\n` +
      'a server started on the copy is read-only until its checkpoint is known to be the newest (README: Operations)',
    {
      backedUp: true,
      dir: r.dir,
      backupTime: time,
      origin: r.origin,
      treeSize: r.treeSize,
      rootHash: toBase64(r.rootHash),
      files: ['log.db', ...r.files],
      externalRoots: r.externalRoots,
    },
  );
  return 0;
}
