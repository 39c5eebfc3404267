/**
 * @module providers/nextcloud/http-agent
 * Keep-alive HTTP(S) agents with a connect timeout. The `webdav` client (node-fetch underneath) has no
 * connect timeout of its own, so a blackholed host would hang a backup for minutes; these agents fail
 * the connection with `ETIMEDOUT` (which `isNetworkError` recognises) after `connectTimeoutMs`.
 */
import type { ClientRequestArgs } from "node:http";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

type Callback = (err: Error | null, stream: Duplex) => void;

/** Destroys the socket with an ETIMEDOUT error unless it connects within `ms`. */
function armConnectTimeout(socket: Duplex | null | undefined, ms: number): void {
  const s = socket as Socket | null | undefined;
  if (!s?.connecting) return;
  const timer = setTimeout(() => {
    const error = Object.assign(new Error(`connection not established within ${ms} ms`), { code: "ETIMEDOUT" });
    s.destroy(error);
  }, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  s.once("connect", clear);
  s.once("close", clear);
}

class TimeoutHttpAgent extends HttpAgent {
  constructor(private readonly connectTimeoutMs: number) {
    super({ keepAlive: true, maxSockets: 16 });
  }
  override createConnection(options: ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    armConnectTimeout(socket, this.connectTimeoutMs);
    return socket;
  }
}

class TimeoutHttpsAgent extends HttpsAgent {
  constructor(private readonly connectTimeoutMs: number) {
    super({ keepAlive: true, maxSockets: 16 });
  }
  override createConnection(options: HttpsRequestOptions, callback?: Callback): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    armConnectTimeout(socket, this.connectTimeoutMs);
    return socket;
  }
}

export interface Agents {
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  destroy(): void;
}

export function createAgents(connectTimeoutMs: number): Agents {
  const httpAgent = new TimeoutHttpAgent(connectTimeoutMs);
  const httpsAgent = new TimeoutHttpsAgent(connectTimeoutMs);
  return {
    httpAgent,
    httpsAgent,
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
