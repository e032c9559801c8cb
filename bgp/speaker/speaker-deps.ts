/** What BgpSpeaker needs from outside: logger, ports (sessions, listener, RIB), clock, FIB target. */
import type { Logger } from '../../src/log.js';
import type { RouteTable } from '../../src/kernel/index.js';
import type { Clock } from '../../src/runtime/index.js';
import type { InterfaceSource } from './interfaces.js';
import type { ListenerFactory, RibFactory, SessionFactory } from './ports.js';

export interface SpeakerDeps {
  readonly log: Logger;
  /** The real Session / listener / Rib come from adapters.ts (`defaultSpeakerPorts()`); tests pass fakes. */
  readonly sessions: SessionFactory;
  readonly listener: ListenerFactory;
  readonly ribFactory: RibFactory;
  /** FIB sync target; FIB sync runs only when given and config.fib.enabled. */
  readonly routeTable?: RouteTable;
  /** We are restarting (GR R bit in the first OPENs). Default: true when the FIB already holds our routes. */
  readonly restarting?: boolean;
  /** Time and timers (default: the real clock). */
  readonly clock?: Clock;
  /** @deprecated pass `clock`; still honoured for the current time when `clock` is absent. */
  readonly now?: () => number;
  /**
   * Keep the RIB's best-path change stream (onBestPathChange). Default: only when FIB sync runs, since
   * tracking costs time and memory at full-table scale.
   */
  readonly trackBestPaths?: boolean;
  /** This host's interfaces (link-local next hops, NEXT_HOP checks); default os.networkInterfaces(). */
  readonly interfaces?: InterfaceSource;
  /**
   * Forwarding state survives our restart outside the speaker (margay-node's route reconciler keeps
   * the kernel routes): set the GR F bit when restarting even without FIB sync here.
   */
  readonly forwardingPreserved?: boolean;
}
