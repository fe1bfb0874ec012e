/**
 * HTTP response compression shared by the routes: whether a client accepts gzip (Accept-Encoding, honouring
 * q=0), gzip through CompressionStream, which Node and Workers both have, and `GzipCache`, which keeps the
 * gzip of immutable bodies (full entry bundles) so that each is compressed once, not on every request: a
 * least-recently-used cache bounded in bytes (the compressed bodies' sizes), with hit and miss counters for
 * /metrics.
 */

/**
 * True when the Accept-Encoding header lists gzip (or `*`) with a quality above 0. A quality that is not an RFC
 * 9110 section 12.4.2 qvalue (`q=abc`, `q=-1`) makes its item count for nothing rather than for gzip.
 */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'gzip' && name !== '*') return false;
    const q = params.filter((p) => p.startsWith('q='));
    if (q.length === 0) return true;
    return q.length === 1 && /^q=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(q[0]) && Number(q[0].slice(2)) > 0;
  });
}

/** Entry bundles SHOULD be compressed (tlog-tiles "Log entries"); CompressionStream exists on Node and Workers. */
export function gzip(data: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
}

/** The gzip of `data`, as bytes. */
export async function gzipBytes(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(gzip(data)).arrayBuffer());
}

/** The default bound of an app's cache: 16 MiB of compressed bodies (a few hundred full entry bundles). */
export const GZIP_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * The gzip of immutable bodies by key (a full bundle's path), least recently used first out, never holding
 * more than `maxBytes` of compressed bytes; a body whose gzip alone is larger is compressed but not kept.
 * Only bodies that never change under their key may be cached: partial bundles grow, so they are not.
 */
export class GzipCache {
  private readonly entries = new Map<string, Uint8Array>();
  private held = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes: number = GZIP_CACHE_BYTES,
    private readonly compress: (data: Uint8Array) => Promise<Uint8Array> = gzipBytes,
  ) {}

  /** The bytes the cache holds now. */
  get bytes(): number {
    return this.held;
  }

  /** The gzip of `data`, the immutable body stored under `key`: from the cache, or compressed and kept. */
  async gzip(key: string, data: Uint8Array): Promise<Uint8Array> {
    const cached = this.entries.get(key);
    if (cached) {
      this.hits++;
      this.entries.delete(key); // moved to the most recently used end
      this.entries.set(key, cached);
      return cached;
    }
    this.misses++;
    const compressed = await this.compress(data);
    if (compressed.length <= this.maxBytes && !this.entries.has(key)) this.keep(key, compressed);
    return compressed;
  }

  /** Adds an entry, evicting the least recently used ones until the bound holds. */
  private keep(key: string, compressed: Uint8Array): void {
    this.entries.set(key, compressed);
    this.held += compressed.length;
    for (const [oldKey, old] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldKey);
      this.held -= old.length;
    }
  }

  /** The cache's Prometheus text: hits, misses and the bytes held. */
  text(): string[] {
    return [
      '# TYPE kt_gzip_cache_hits_total counter',
      `kt_gzip_cache_hits_total ${this.hits}`,
      '# TYPE kt_gzip_cache_misses_total counter',
      `kt_gzip_cache_misses_total ${this.misses}`,
      '# TYPE kt_gzip_cache_bytes gauge',
      `kt_gzip_cache_bytes ${this.held}`,
    ];
  }
}
