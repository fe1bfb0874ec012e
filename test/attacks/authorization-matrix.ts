/**
 * The authorization matrix of the hostile test suite (issue 12): the `Authorization` headers a client may send
 * (none, another scheme, a wrong token, the token with white space in it, a prefix or suffix of it, the token
 * itself), which of them the operator's routes must take (docs/PROTOCOL.md section 7: exactly
 * `Bearer <token>`; HTTP strips white space around a field's value, so a trailing space is the same header),
 * and the public routes, each with a valid request, whose answer no `Authorization` header may change.
 */
import { toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';

/** One `Authorization` header (null: none) and whether the operator's routes must take it. */
export interface AuthorizationVariant {
  name: string;
  header: string | null;
  authorized: boolean;
}

/** Every variant of the header for the operator token `token`. */
export function authorizationVariants(token: string): AuthorizationVariant[] {
  const refused = (name: string, header: string | null): AuthorizationVariant => ({ name, header, authorized: false });
  const wrong = [...token].map((c) => (c === 'a' ? 'b' : 'a')).join('');
  return [
    refused('no header', null),
    refused('an empty header', ''),
    refused('Basic with the token', `Basic ${toBase64(utf8(`operator:${token}`))}`),
    refused('another scheme', `Token ${token}`),
    refused('a lower-case scheme', `bearer ${token}`),
    refused('the scheme alone', 'Bearer'),
    refused('no space after the scheme', `Bearer${token}`),
    refused('a wrong token of the same length', `Bearer ${wrong}`),
    refused('the token in upper case', `Bearer ${token.toUpperCase()}`),
    refused('two spaces after the scheme', `Bearer  ${token}`),
    refused('a tab after the scheme', `Bearer\t${token}`),
    refused('a space inside the token', `Bearer ${token.slice(0, 8)} ${token.slice(8)}`),
    refused('the token then more', `Bearer ${token} x`),
    refused('a prefix of the token', `Bearer ${token.slice(0, -1)}`),
    refused('a suffix of the token', `Bearer ${token.slice(1)}`),
    refused('the token with a byte more', `Bearer ${token}x`),
    refused('a byte then the token', `Bearer x${token}`),
    refused('the token twice', `Bearer ${token}${token}`),
    refused('two credentials', `Bearer ${token}, Bearer ${token}`),
    { name: 'the token with trailing white space', header: `Bearer ${token} `, authorized: true },
    { name: 'the token', header: `Bearer ${token}`, authorized: true },
  ];
}

/** A public route, a valid request to it, and the status it is answered. */
export interface PublicRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  status: number;
}

/** Valid requests to every public route of a directory holding `account` at `provider` (version 1). */
export function publicRequests(
  provider: string,
  account: string,
  published: string,
  treeSize: number,
): PublicRequest[] {
  const at = `${provider}/${encodeURIComponent(account)}`;
  return [
    { method: 'GET', path: '/log/checkpoint', status: 200 },
    { method: 'GET', path: `/log/tile/0/000.p/${treeSize}`, status: 200 },
    { method: 'GET', path: `/log/tile/entries/000.p/${treeSize}`, status: 200 },
    { method: 'GET', path: '/v1/config', status: 200 },
    { method: 'GET', path: '/healthz', status: 200 },
    { method: 'GET', path: '/metrics', status: 200 },
    { method: 'GET', path: '/openapi.json', status: 200 },
    { method: 'GET', path: `/v1/lookup/${at}`, status: 200 },
    { method: 'POST', path: '/v1/lookup', body: JSON.stringify({ lookups: [{ provider, account }] }), status: 200 },
    { method: 'POST', path: '/v1/lookup', body: JSON.stringify({ discover: account }), status: 200 },
    { method: 'GET', path: `/v1/history/${at}`, status: 200 },
    { method: 'GET', path: `/v1/monitor/${at}?version=1`, status: 200 },
    // The published statement again: idempotent, answered as accepted, nothing new queued.
    { method: 'POST', path: '/v1/bindings', body: published, status: 202 },
    { method: 'GET', path: '/no/such/route', status: 404 },
  ];
}
