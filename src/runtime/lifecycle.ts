/**
 * The one service lifecycle (undici's dispatcher lesson): every long-lived part has `start()` and a
 * graceful `stop()` that waits for queued work, both idempotent. A service embeds a `Lifecycle`:
 *
 *   idle ──start()──▶ starting ──▶ running ──stop()──▶ stopping ──▶ stopped
 *     └──────────────────────stop()──────────────────────────────────▲
 *
 * - `start(fn)` runs `fn` once; later calls return the same promise. Starting a stopped service
 *   throws ServiceStoppedError (a lifecycle is one-shot: make a new object to run again).
 * - `stop(fn)` waits for a start in progress, refuses new work (`run` throws ServiceStoppedError),
 *   aborts `signal` (long-running loops listen to it and exit), waits for every tracked piece of
 *   work to settle, then runs `fn` (close sockets, release handles). Later calls return the same
 *   promise. Stopping a service that never started just marks it stopped.
 * A `ServiceGroup` starts services in order and stops them in reverse: SIGTERM stops the agent's
 * parts top-down, and nothing here touches the dataplane a service leaves behind.
 */
import type { Logger } from 'pino';
import { ServiceStartError, ServiceStopError, ServiceStoppedError } from './errors.js';

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface Service {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

export class Lifecycle {
  #state: ServiceState = 'idle';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #work = new Set<Promise<unknown>>();
  /**
   * Made when `signal` is first asked for: Node loads AbortController's and EventTarget's internals on
   * first use (≈ 0.3 ms of a one-shot command's start-up, docs/startup.md tenth pass), and most
   * services never ask. #stopped is the reason stop() aborts it with, also when asked for later.
   */
  #abort: AbortController | undefined;
  #stopped: ServiceStoppedError | undefined;

  constructor(readonly name: string) {}

  get state(): ServiceState {
    return this.#state;
  }

  /** True while work may be accepted (starting or running). */
  get accepting(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  /** Aborted when stop() begins (already aborted when asked for after that). */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    if (this.#stopped !== undefined && !this.#abort.signal.aborted) this.#abort.abort(this.#stopped);
    return this.#abort.signal;
  }

  /** Work in flight that stop() will wait for. */
  get inFlight(): number {
    return this.#work.size;
  }

  start(fn: () => Promise<void> | void = () => {}): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return Promise.reject(new ServiceStoppedError(this.name));
    if (this.#starting) return this.#starting;
    this.#state = 'starting';
    this.#starting = (async () => {
      await fn();
      if (this.#state === 'starting') this.#state = 'running';
    })();
    return this.#starting;
  }

  stop(fn: () => Promise<void> | void = () => {}): Promise<void> {
    if (this.#stopping) return this.#stopping;
    const wasStarted = this.#starting;
    this.#state = 'stopping';
    this.#stopped = new ServiceStoppedError(this.name);
    this.#abort?.abort(this.#stopped);
    this.#stopping = (async () => {
      if (wasStarted) await wasStarted.catch(() => undefined); // a failed start still needs its cleanup
      while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
      try {
        if (wasStarted) await fn();
      } finally {
        this.#state = 'stopped';
      }
    })();
    return this.#stopping;
  }

  /** Registers work that stop() must wait for; returns it unchanged. Refused once stopping. */
  track<T>(work: Promise<T>): Promise<T> {
    if (!this.accepting) {
      work.catch(() => undefined); // refused: the caller gets the refusal, not this promise's outcome
      return Promise.reject(new ServiceStoppedError(this.name));
    }
    this.#work.add(work);
    const done = (): void => void this.#work.delete(work);
    work.then(done, done);
    return work;
  }

  /** Runs `fn` as tracked work; throws ServiceStoppedError (without calling fn) once stopping. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.accepting) return Promise.reject(new ServiceStoppedError(this.name));
    return this.track(fn());
  }
}

/** What ServiceGroup.adopt takes: a part that is already running and can be stopped. */
export type StoppableService = Pick<Service, 'name' | 'stop'>;

/**
 * Services started in order and stopped in reverse order. A composition root that starts its parts
 * itself (conditionally, with retries, some only later) `adopt`s each one as it comes up instead;
 * stop() then stops adopted and started ones alike, last first.
 */
export class ServiceGroup {
  readonly #services: Service[] = [];
  readonly #started: StoppableService[] = [];
  #stopping = false;

  constructor(private readonly log?: Logger) {}

  add<S extends Service>(s: S): S {
    this.#services.push(s);
    return s;
  }

  /**
   * Registers a service that is already running, to be stopped by stop() before everything adopted
   * or started earlier. Adopting once stop() has begun stops the service right away (a part that
   * finished starting during shutdown must not be left running); that stop's failure is thrown.
   */
  async adopt<S extends StoppableService>(s: S): Promise<S> {
    if (this.#stopping) {
      await s.stop();
      this.log?.info({ service: s.name }, 'service stopped (it came up during shutdown)');
      return s;
    }
    if (!this.#started.includes(s)) this.#started.push(s);
    return s;
  }

  /** Names of the running services, in the order stop() will stop them. */
  get stopOrder(): string[] {
    return this.#started.map((s) => s.name).reverse();
  }

  /** Starts each service in order; on a failure stops the started ones (reverse) and throws. */
  async start(): Promise<void> {
    for (const s of this.#services) {
      if (this.#started.includes(s)) continue;
      try {
        await s.start();
        this.#started.push(s);
      } catch (err) {
        this.log?.error({ err, service: s.name }, 'service failed to start; stopping the others');
        await this.stop().catch((stopErr: unknown) =>
          this.log?.error({ err: stopErr }, 'stop after failed start failed'),
        );
        throw new ServiceStartError(s.name, { cause: err });
      }
    }
  }

  /**
   * Stops every started or adopted service, last first; keeps going past failures and reports them all.
   * Services adopted after this began are stopped as they are adopted (see adopt).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    const failures: { service: string; error: unknown }[] = [];
    while (this.#started.length > 0) {
      const s = this.#started.pop()!;
      try {
        await s.stop();
        this.log?.info({ service: s.name }, 'service stopped');
      } catch (error) {
        this.log?.error({ err: error, service: s.name }, 'service failed to stop');
        failures.push({ service: s.name, error });
      }
    }
    if (failures.length > 0) throw new ServiceStopError(failures);
  }
}
