/**
 * The browser globals the explorer's modules use (`fetch`, `localStorage`), provided in Node over an app's
 * `request` and a map, for tests that run those modules without a browser; `alter` may change a body.
 */
import { vi } from 'vitest';

type App = { request: (url: string, init?: RequestInit) => Response | Promise<Response> };

export function useAppAsBrowser(app: App, alter: (path: string, body: Uint8Array) => Uint8Array = (_p, b) => b): void {
  const items = new Map<string, string>();
  vi.stubGlobal('localStorage', {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
  });
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    const res = await app.request(url, init);
    const body = alter(new URL(url).pathname, new Uint8Array(await res.arrayBuffer())) as Uint8Array<ArrayBuffer>;
    return new Response(body, { status: res.status, headers: res.headers });
  });
}
