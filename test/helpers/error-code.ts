/** Test helper: the stable `code` of the error a call throws, 'no error', or 'untyped' for a bare Error. */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
  return 'no error';
}

/**
 * Test helper: the stable `code` of what a promise (or a function's result, awaited) rejects with, 'no error',
 * or 'untyped' for a bare Error.
 */
export async function rejectionCode(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
  return 'no error';
}
