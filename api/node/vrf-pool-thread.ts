/**
 * The entry of one thread of the VRF pool (api/node/vrf-pool.ts): it receives the directory's VRF secret
 * key once, in `workerData`, then answers each `{ id, alpha, secretKey? }` request (`secretKey`: another key to
 * prove under, a KEYTRANS deployment's), in the order received, with
 * `{ id, proof, output }` (RFC 9381 proof, 80 bytes, and its output beta, 64 bytes) or `{ id, error }` (the
 * failure's message, which never holds the key). Answers go back in batches: after each proof the thread
 * takes the next request already waiting, and posts what it has answered once none waits or it holds
 * `workerData.answersPerMessage`, so that the event loop takes several in one turn (their queue rows in one commit)
 * and the thread goes on while it does. It says `{ ready: true, check }` once it listens, `check` its
 * evaluation of `workerData.checkAlpha`, which the pool compares with its own. On Linux it first lowers its
 * own scheduling priority (nice +10, or `workerData.nice`: Linux's nice value is per thread), so that the
 * server's event loop (epochs, writes, stored lookups) runs before VRF work when the cores are busy, and a
 * reader process's thread (+15) after the sequencer's, which prove publications.
 */
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { vrfEvaluate } from '../../wasm-free-crypto/vrf.js';

/** How much less urgent a VRF thread is than the event loop by default, as a nice value (Linux only). */
const THREAD_NICE = 10;

/** A request of the pool, and the thread's messages. */
export type ThreadRequest = { id: number; alpha: Uint8Array; secretKey?: Uint8Array };
export type ThreadAnswer = { id: number; proof: Uint8Array; output: Uint8Array } | { id: number; error: string };
export type ThreadMessage =
  | { answers: ThreadAnswer[] }
  | { ready: true; check: { proof: Uint8Array; output: Uint8Array } };

function lowerPriority(): void {
  if (process.platform !== 'linux') return; // elsewhere setpriority applies to the whole process
  const nice = (workerData as { nice?: number }).nice ?? THREAD_NICE;
  try {
    setPriority(nice);
  } catch {
    // raising one's own nice value is always allowed; if the call fails anyway, run at normal priority
  }
}

function answer(request: ThreadRequest): ThreadAnswer {
  try {
    return { id: request.id, ...vrfEvaluate(request.secretKey ?? secretKey, request.alpha) };
  } catch (e) {
    return { id: request.id, error: (e as Error).message };
  }
}

/** Answers `first` and the requests waiting behind it, posting every `answersPerMessage` and at the end. */
function answerWaiting(port: MessagePort, first: ThreadRequest): void {
  let answers = [answer(first)];
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
    if (answers.length >= answersPerMessage) {
      port.postMessage({ answers } satisfies ThreadMessage);
      answers = [];
    }
    answers.push(answer(next.message as ThreadRequest));
  }
  port.postMessage({ answers } satisfies ThreadMessage);
}

const port = parentPort;
const { secretKey, checkAlpha, answersPerMessage } = workerData as {
  secretKey: Uint8Array;
  checkAlpha: Uint8Array;
  answersPerMessage: number;
};
if (!port) throw new Error('vrf-pool-thread.ts runs only as a worker thread of api/node/vrf-pool.ts');
lowerPriority();
port.on('message', (request: ThreadRequest) => answerWaiting(port, request));
port.postMessage({ ready: true, check: vrfEvaluate(secretKey, checkAlpha) } satisfies ThreadMessage);
