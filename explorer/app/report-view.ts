/**
 * The pieces every view shows an answer with: the list of checks (each line says passed, FAILED, warning
 * or not checked in words, the colour only repeats it), the outcome box, and the explanation of a failure:
 * a rollback or fork comes with its evidence file to download, an answer that merely does not verify says
 * that it proves nothing about the operator, and a directory that could not be asked says so.
 */
import { ClientError, VerifyError } from '../../verifier/verification/errors.js';
import { downloadLink, h } from './dom.js';
import type { CheckLine } from './checks.js';
import { checkpointEvidence, evidenceFileName } from './evidence.js';
import type { Session } from './session.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';

const MARK: Record<CheckLine['state'], string> = {
  passed: '✓ passed',
  failed: '✗ FAILED',
  warning: '! warning',
  not_checked: '– not checked',
};

export function checkList(lines: CheckLine[]): HTMLElement {
  return h(
    'ol',
    { class: 'checks', 'aria-label': 'Checks made by the verifier in this browser' },
    lines.map((l) =>
      h(
        'li',
        { class: `check ${l.state}`, 'data-check': l.id },
        h('span', { class: 'mark' }, MARK[l.state]),
        ' ',
        h('span', { class: 'text' }, l.text),
        l.details &&
          l.details.length > 0 &&
          h(
            'ul',
            {},
            l.details.map((d) => h('li', {}, d)),
          ),
      ),
    ),
  );
}

/** The outcome box: verified (green) or failed (red), its first words saying which. */
export function outcome(ok: boolean, text: string): HTMLElement {
  return h(
    'p',
    { class: `outcome ${ok ? 'ok' : 'bad'}`, role: ok ? 'status' : 'alert' },
    ok ? '✓ Verified: ' : '✗ ',
    text,
  );
}

/** What a failure means, in words. */
export function failureWords(e: Error): string {
  if (e instanceof VerifyError) {
    if (e.code === 'inconsistent_checkpoint')
      return 'Verification FAILED: the log has shown two trees that cannot both be honest (a fork). This is evidence of misbehaviour.';
    if (e.code === 'rollback')
      return 'Verification FAILED: the directory answered from an older tree than one this browser already saw (a rollback).';
    if (e.code === 'witness_quorum' || e.code === 'stale_checkpoint')
      return `Verification FAILED: the checkpoint does not meet your witness policy (${e.code}).`;
    return `Verification FAILED: the answer does not verify (${e.code}).`;
  }
  if (e instanceof ClientError && e.code === 'bad_request') return `Not asked: ${e.message}`;
  if (e instanceof ClientError)
    return `The directory could not be asked or refused the request: ${e.code}: ${e.message}`;
  return `${e.name}: ${e.message}`;
}

/** The evidence offer of a failed answer: a download for the rollback or fork it caused, else why there is none. */
export function evidenceOffer(session: Session, e: Error, found?: CheckpointEvidence): HTMLElement | undefined {
  if (!(e instanceof VerifyError)) return undefined;
  if (found) {
    const now = Date.now();
    const file = checkpointEvidence(found, session.kept.pins, session.server, now);
    return h(
      'div',
      { class: 'evidence' },
      h(
        'p',
        {},
        found.kind === 'fork'
          ? 'The log signed two trees that cannot both be honest: this fork is proven to anyone by the evidence file. Keep it and check it with '
          : 'The log signed both checkpoints: the file shows this rollback, but does not prove misbehaviour (a cache may serve an old checkpoint); it records when it happened. Check it with ',
        h('code', {}, 'kt verify-evidence FILE --pins kt-pins.json'),
        '.',
      ),
      downloadLink(
        evidenceFileName(found.kind, now),
        `${JSON.stringify(file, null, 2)}\n`,
        `Download the evidence of this ${found.kind}`,
      ),
    );
  }
  return h(
    'p',
    { class: 'no-evidence' },
    'No evidence file: an answer that fails to verify proves nothing about the operator by itself (it could have been altered on the way, or be merely malformed). It was refused, and nothing it said is shown.',
  );
}
