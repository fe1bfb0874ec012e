import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
const subtle = globalThis.crypto.subtle;
const sk = new Uint8Array(32).fill(7);
const pk = ed25519.getPublicKey(sk);
const msg = new Uint8Array([1,2,3]);
const sig = ed25519.sign(msg, sk);
const key = await subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
console.log('webcrypto ed25519', await subtle.verify({ name: 'Ed25519' }, key, sig, msg));
// off-curve key import
const bad = new Uint8Array(32); bad[0] = 2;
console.log('isValid', ed25519.utils.isValidPublicKey(bad, false));
try { const k2 = await subtle.importKey('raw', bad, { name: 'Ed25519' }, false, ['verify']); console.log('imported offcurve', await subtle.verify({ name: 'Ed25519' }, k2, sig, msg)); } catch (e) { console.log('import offcurve threw', (e as Error).name); }
// small order key
const so = Uint8Array.from(Buffer.from(ED25519_TORSION_SUBGROUP[1], 'hex'));
const k3 = await subtle.importKey('raw', so, { name: 'Ed25519' }, false, ['verify']);
console.log('smallorder verify', await subtle.verify({ name: 'Ed25519' }, k3, sig, msg));
// p256 compressed raw import
const psk = p256.utils.randomSecretKey();
const cpk = p256.getPublicKey(psk, true);
try { await subtle.importKey('raw', cpk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']); console.log('compressed import ok'); } catch (e) { console.log('compressed import threw', (e as Error).name); }
const N = 2000;
let t = performance.now(); for (let i = 0; i < N; i++) ed25519.verify(sig, msg, pk, { zip215: false }); console.log('noble ed verify/s', N / (performance.now() - t) * 1000);
t = performance.now(); for (let i = 0; i < N; i++) await subtle.verify({ name: 'Ed25519' }, key, sig, msg); console.log('webcrypto ed verify/s', N / (performance.now() - t) * 1000);
t = performance.now(); for (let i = 0; i < N; i++) { const k = await subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']); await subtle.verify({ name: 'Ed25519' }, k, sig, msg);} console.log('webcrypto ed import+verify/s', N / (performance.now() - t) * 1000);
t = performance.now(); for (let i = 0; i < N; i++) ed25519.Point.fromBytes(pk, false); console.log('noble decode/s', N / (performance.now() - t) * 1000);
const ppk = p256.getPublicKey(psk, false); const psig = p256.sign(msg, psk);
const pkey = await subtle.importKey('raw', ppk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
console.log('webcrypto p256', await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pkey, psig, msg));
t = performance.now(); for (let i = 0; i < N; i++) p256.verify(psig, msg, ppk, { lowS: false }); console.log('noble p256 verify/s', N / (performance.now() - t) * 1000);
t = performance.now(); for (let i = 0; i < N; i++) await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pkey, psig, msg); console.log('webcrypto p256 verify/s', N / (performance.now() - t) * 1000);
t = performance.now(); for (let i = 0; i < N; i++) p256.Point.fromBytes(ppk); console.log('noble p256 decode/s', N / (performance.now() - t) * 1000);
