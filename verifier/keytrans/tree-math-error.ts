/**
 * The one error of the KEYTRANS tree maths (search-tree.ts, binary-ladder.ts): an argument out of range, never a
 * property of a log's answer. Its codes: 'bad_size' (a tree size that is not a safe integer of at least 1, or a
 * previously seen size above the new one), 'bad_position' (a log position that is not a safe integer in
 * 0..size-1), 'bad_version' (a label version that is not a uint32), 'contradictory_lookups' (a version given both
 * as included to the left and as absent to the right, which no append-only log can show).
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type TreeMathErrorCode = 'bad_size' | 'bad_position' | 'bad_version' | 'contradictory_lookups';

/** An argument of the tree maths out of range (see the file comment for the codes). */
export class TreeMathError extends CodedError<TreeMathErrorCode> {
  override readonly name = 'TreeMathError';
}
