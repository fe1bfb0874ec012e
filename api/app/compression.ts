/**
 * HTTP response compression shared by the routes: whether a client accepts gzip (Accept-Encoding, honouring
 * q=0), and gzip through CompressionStream, which Node and Workers both have.
 */

/** True when the Accept-Encoding header lists gzip with a non-zero quality. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    return (name === 'gzip' || name === '*') && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/** Entry bundles SHOULD be compressed (tlog-tiles "Log entries"); CompressionStream exists on Node and Workers. */
export function gzip(data: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
}
