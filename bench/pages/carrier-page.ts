// The page of bench/bridge-carriers.ts (bundled in memory by bench/lib/carrier-page.ts as /page.js, with
// icebridge's Worker beside it as /worker.js and the bench Worker as /carrier-worker.js):
//   window.workerCall(cmd, args)  a command of the bench Worker (carrier-worker.ts), timed in that Worker
//   window.appRtt(args)           ping-pong through icebridge's own page API — IcebridgeWorker.connectBridge →
//                                 bind → send/ondatagram — timed in the page (page → Worker → bridge → echo)
import { IcebridgeWorker, type BridgeConfig } from '../../src/worker.js';
import { pingPong, type PingPongResult } from './ping-pong.js';

type Reply = { id: number; ok: boolean; result?: unknown; error?: string };

const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
let nextId = 1;
let workerIsolated: boolean | undefined;
const benchWorker = new Worker(new URL('./carrier-worker.js', import.meta.url), { type: 'module', name: 'bench-carriers' });
const workerUp = new Promise<void>((resolve, reject) => {
  benchWorker.addEventListener('error', (e) => reject(new Error(`bench Worker: ${e.message || 'did not load'}`)));
  benchWorker.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as Reply & { ready?: boolean; crossOriginIsolated?: boolean };
    if (m.ready) {
      workerIsolated = m.crossOriginIsolated;
      resolve();
      return;
    }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.result);
    else p?.reject(new Error(m.error));
  });
});

let icebridge: IcebridgeWorker | undefined;

const api = {
  async workerCall(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    await workerUp;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      benchWorker.postMessage({ id, cmd, args });
    });
  },
  async appRtt(a: { bridge: BridgeConfig & { carrier: string } } & Parameters<typeof pingPong>[1]): Promise<PingPongResult & { carrier: string }> {
    icebridge ??= new IcebridgeWorker();
    const connection = await icebridge.connectBridge(a.bridge);
    try {
      if (connection.carrier !== a.bridge.carrier) throw new Error(`asked for ${a.bridge.carrier}, got ${connection.carrier}`);
      const socket = await connection.bind({ family: 'IPv4' });
      return { ...(await pingPong(socket, a)), carrier: connection.carrier };
    } finally {
      connection.close();
    }
  },
  async isolation(): Promise<{ page: boolean; worker: boolean | undefined }> {
    await workerUp;
    return { page: crossOriginIsolated, worker: workerIsolated };
  },
};

Object.assign(window, api, { benchReady: true });
