/**
 * The agent's status socket (`<run dir>/bgp.sock`): the BGP control API of the embedded speaker,
 * read-only. `margayctl node status` and `margayctl bgp peers|rib --socket` read it. Announcing
 * and withdrawing are refused: the agent originates its IPAM blocks from the datastore itself.
 */
import type { ControlHandler, ControlServer, PeerStatusView, RibQuery, RibQueryResult } from '../bgp/index.js';
import { MargayError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

export class AgentControlError extends MargayError {
  readonly code = 'MGY_AGENT_CONTROL_READ_ONLY';
}

const EMPTY_RIB: RibQueryResult = {
  matched: 0,
  prefixes: { ipv4: 0, ipv6: 0 },
  paths: { ipv4: 0, ipv6: 0 },
  routes: [],
};

export function agentControlHandler(src: {
  peers(): PeerStatusView[];
  rib(q: RibQuery): RibQueryResult | undefined;
}): ControlHandler {
  const refuse = (): never => {
    throw new AgentControlError(
      'margay-node originates its IPAM blocks from the datastore; announce/withdraw only on margay-bgpd',
    );
  };
  return {
    peers: () => src.peers(),
    rib: (q) => src.rib(q) ?? EMPTY_RIB,
    announce: refuse,
    withdraw: refuse,
    reload: async () => ({ reloaded: false, error: 'margay-node follows the datastore; there is no file to reload' }),
    refresh: () => ({ sent: false }),
  };
}

/**
 * The status socket's server, started by the agent once its routes are in (startup-gates.ts): the
 * control server loads node:http (≈ 2–3 ms of CPU, and a few file operations) and there are no sessions to show before in-sync.
 * Readiness waits for it (`ready`). A failure (e.g. the socket in use by a running process) is logged
 * and retried with back-off until it starts or stop() is called.
 */
export class StatusSocket {
  #server: Promise<ControlServer | undefined> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    private readonly listen: () => Promise<ControlServer>,
    private readonly log: Logger,
    private readonly ready: (ok: boolean) => void,
  ) {
    ready(false);
  }

  /** Starts it (once; later calls do nothing). */
  start(): void {
    if (this.#server === undefined && !this.#stopped) this.#server = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await (await this.#server)?.close();
  }

  async #run(): Promise<ControlServer | undefined> {
    for (let attempt = 1; !this.#stopped; attempt++) {
      try {
        const server = await this.listen();
        if (this.#stopped) {
          await server.close();
          return undefined;
        }
        this.ready(true);
        return server;
      } catch (err) {
        const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
        this.log.error({ err, retryInMs: delay }, 'status socket not started; retrying');
        await new Promise<void>((r) => {
          this.#wake = r;
          setTimeout(r, delay).unref();
        });
      }
    }
    return undefined;
  }
}
