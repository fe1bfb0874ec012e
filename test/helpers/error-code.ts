/** Test helper: the stable `code` of the error a call throws, 'no error', or 'untyped' for a bare Error. */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
  return 'no error';
}
