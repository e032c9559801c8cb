import {
  CNI_ERROR,
  CniError,
  MARGAY_CNI_ERROR,
  POD_GATEWAY,
  ipamAddresses,
  renderResult,
  type CniRequest,
  type CniResult,
} from '../../cni/index.js';
import { MargayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { OWNERSHIP, type SysctlOps, type WorkloadVethOps, type WorkloadVethSpec } from '../../src/kernel/index.js';
import { attachmentKey, keyOf, type AttachmentRecord, type AttachmentStore } from './attachment-store.js';
import { HOST_VETH_MAC, hostIfName, podIdentity, randomPodMac, type PodIdentity } from './identity.js';
import { invokeIpamPlugin } from './ipam-plugin.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { CniIpam, EndpointRegistry, PodDirectory } from './ports.js';

/**
 * CNI commands as the agent carries them out, on a validated request (cni/protocol.ts).
 *
 * ADD is a sequence of steps, each pushing its undo before it runs: IPAM assignment (or the
 * delegated IPAM plugin), the veth pair with the host side set up (route, neighbour, alias), host
 * sysctls, the pod side, the endpoint registration, the attachment record. Any failure runs the
 * undos in reverse, so a failed ADD leaves no veth, route or allocation behind, and the error is
 * never 3 ("unknown container", which would tell the runtime not to call DEL). Optionally ADD
 * then waits (bounded) until the dataplane has programmed the endpoint.
 *
 * DEL is idempotent: it removes whatever of the attachment still exists and succeeds when the
 * netns, the veth, the record or the allocation are already gone. Calls for one container are
 * serialised (KeyedMutex); different containers run concurrently.
 */
export interface CniHandlerOptions {
  readonly nodeName: string;
  readonly ipam: CniIpam;
  readonly endpoints: EndpointRegistry;
  readonly pods: PodDirectory;
  readonly veths: WorkloadVethOps;
  readonly sysctl: SysctlOps;
  readonly store: AttachmentStore;
  readonly log: Logger;
  /** Pod MTU when the netconf has none (the agent's veth MTU). */
  readonly mtu: () => number;
  /** Wait at most this long after ADD for the endpoint to be programmed (0: do not wait). */
  readonly programmedTimeoutMs?: number;
  /** Deadline for a delegated IPAM plugin run. */
  readonly delegateTimeoutMs?: number;
  /** Called after each ADD with the milliseconds each step took (benchmarks, debug logs). */
  readonly onSteps?: (steps: Readonly<Record<string, number>>) => void;
}

type Undo = { readonly what: string; readonly run: () => Promise<void> | void };

const ipamCode = (err: unknown): number => {
  const code = err instanceof MargayError ? err.code : undefined;
  if (code === 'MGY_IPAM_EXHAUSTED')
    return (err as { retryable?: boolean }).retryable ? CNI_ERROR.tryAgainLater : MARGAY_CNI_ERROR.poolExhausted;
  if (code === 'MGY_IPAM_NO_POOL') return MARGAY_CNI_ERROR.poolExhausted;
  if (code === 'MGY_IPAM_CONTENDED' || code === 'MGY_DATASTORE_UNAVAILABLE') return CNI_ERROR.tryAgainLater;
  return MARGAY_CNI_ERROR.ipamFailed;
};

export class CniHandler {
  readonly #locks = new KeyedMutex();

  constructor(private readonly o: CniHandlerOptions) {}

  /** `steps` (optional) receives the milliseconds each ADD step took, for the caller's log line. */
  async handle(req: CniRequest, log: Logger, steps: Record<string, number> = {}): Promise<CniResult | null> {
    switch (req.command) {
      case 'ADD':
        return this.#locks.run(this.#key(req), () => this.#add(req, log, steps));
      case 'DEL':
        await this.#locks.run(this.#key(req), () => this.#del(req, log));
        return null;
      case 'CHECK':
        await this.#locks.run(this.#key(req), () => this.#check(req));
        return null;
      case 'STATUS':
        await this.#status(req);
        return null;
      case 'GC':
        await this.#gc(req, log);
        return null;
      case 'VERSION':
        throw new CniError(
          CNI_ERROR.invalidEnvironment,
          'invalid environment',
          'VERSION is answered by the plugin itself',
        );
    }
  }

  #key(req: CniRequest): string {
    return attachmentKey(req.config.name, req.containerId!, req.ifName!);
  }

  async #add(req: CniRequest, log: Logger, steps: Record<string, number>): Promise<CniResult> {
    const id = podIdentity(req.args);
    const containerId = req.containerId!;
    const ifName = req.ifName!;
    const network = req.config.name;
    const key = this.#key(req);
    const podObject = id === undefined ? undefined : await this.#pod(id);
    const previous = this.o.store.get(key);
    if (previous !== undefined) {
      // ADD again without DEL: rebuild the interfaces, keep the addresses (IPAM assign is idempotent per handle).
      log.warn({ hostIf: previous.hostIf }, 'repeated ADD for an attachment that exists: rebuilding it');
      await this.o.veths.remove(previous.hostIf);
      this.o.endpoints.unregister(key);
      await this.o.store.delete(key);
    }
    const undos: Undo[] = [];
    let mark = performance.now();
    const lap = (name: string): void => {
      const now = performance.now();
      steps[name] = now - mark;
      mark = now;
    };
    const step = async <T>(what: string, code: number, fn: () => Promise<T>, undo?: Undo): Promise<T> => {
      if (undo !== undefined) undos.push(undo);
      const t0 = performance.now();
      try {
        const v = await fn();
        steps[what] = performance.now() - t0;
        mark = performance.now();
        return v;
      } catch (err) {
        if (err instanceof CniError) throw err;
        throw new CniError(code, `${what} failed`, err instanceof Error ? err.message : String(err));
      }
    };
    try {
      const handleId = `${network}.${containerId}`;
      const ipamType = req.config.ipamType;
      let addresses: string[];
      if (ipamType === 'margay-ipam') {
        undos.push({ what: 'release IPAM handle', run: () => this.o.ipam.release(handleId) });
        try {
          addresses = (
            await this.o.ipam.assign({
              handleId,
              containerId,
              ifName,
              ...(id ?? {}),
              ...(podObject !== undefined ? { podObject } : {}),
              ipamConfig: (req.config.raw.ipam as Record<string, unknown> | undefined) ?? {},
            })
          ).map(hostCidr);
        } catch (err) {
          throw new CniError(
            ipamCode(err),
            'IP address assignment failed',
            err instanceof Error ? err.message : String(err),
          );
        }
      } else {
        undos.push({ what: `${ipamType} DEL`, run: async () => void (await this.#delegate(req, 'DEL')) });
        addresses = ipamAddresses(await this.#delegate(req, 'ADD')).map(hostCidr);
      }
      lap('ipam');
      const hostIf =
        id === undefined ? hostIfName(undefined, containerId, ifName) : hostIfName(id, containerId, ifName);
      const spec: WorkloadVethSpec = {
        hostIf,
        podIf: ifName,
        netnsPath: req.netns!,
        mtu: req.config.mtu ?? this.o.mtu(),
        hostMac: HOST_VETH_MAC,
        podMac: randomPodMac(),
        owner: containerId,
        addresses,
        gateways: POD_GATEWAY,
        routeProto: OWNERSHIP.routeProtocol.workload,
      };
      await this.#createVeth(spec, key, log, undos);
      lap('host veth');
      const record: AttachmentRecord = {
        network,
        containerId,
        ifName,
        netns: spec.netnsPath,
        hostIf,
        podMac: spec.podMac,
        mtu: spec.mtu,
        addresses,
        ipamType,
        handleId,
        ...(id ?? {}),
      };
      // Independent of each other once the pair exists: host sysctls, the pod side, the record.
      undos.push({ what: 'delete attachment record', run: () => this.o.store.delete(key) });
      const parallel = await Promise.allSettled([
        step('host interface settings', MARGAY_CNI_ERROR.interfaceSetupFailed, () =>
          this.o.sysctl.setMany(hostSysctls(hostIf, addresses)),
        ),
        step('pod interface setup', MARGAY_CNI_ERROR.interfaceSetupFailed, () => this.o.veths.configurePodSide(spec)),
        step('attachment record', CNI_ERROR.ioFailure, () => this.o.store.save(record)),
      ]);
      const failed = parallel.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      await step(
        'endpoint registration',
        MARGAY_CNI_ERROR.endpointFailed,
        async () => this.o.endpoints.register(registration(record, podObject)),
        {
          what: 'unregister endpoint',
          run: () => this.o.endpoints.unregister(key),
        },
      );
      await this.#waitProgrammed(key, log);
      lap('wait programmed');
      this.o.onSteps?.(steps);
      return renderResult(
        req.config.cniVersion,
        {
          host: { name: hostIf, mac: HOST_VETH_MAC, mtu: spec.mtu },
          pod: { name: ifName, mac: spec.podMac, mtu: spec.mtu, sandbox: spec.netnsPath },
          addresses,
          routes: [
            ...(addresses.some((a) => !a.includes(':')) ? [{ dst: '0.0.0.0/0', gw: POD_GATEWAY[4] }] : []),
            ...(addresses.some((a) => a.includes(':')) ? [{ dst: '::/0', gw: POD_GATEWAY[6] }] : []),
          ],
        },
        req.config.prevResult,
      );
    } catch (err) {
      await this.#undo(undos, log, err);
      if (err instanceof CniError) throw err;
      throw new CniError(CNI_ERROR.ioFailure, 'ADD failed', err instanceof Error ? err.message : String(err));
    }
  }

  /** Creates the veth; a host name held by another container's veth (same pod re-created) is taken over. */
  async #createVeth(spec: WorkloadVethSpec, key: string, log: Logger, undos: Undo[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.veths.createHostSide(spec);
        undos.push({ what: `delete ${spec.hostIf}`, run: () => this.o.veths.remove(spec.hostIf) });
        return;
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        const firstLineExists = /File exists/.test(text) && /-:1\b/.test(text);
        if (!firstLineExists) {
          // A later line failed: the pair exists and is ours, remove it.
          await this.o.veths
            .remove(spec.hostIf)
            .catch((e: unknown) => log.error({ err: e, hostIf: spec.hostIf }, 'could not remove a half-made veth'));
          throw new CniError(MARGAY_CNI_ERROR.interfaceSetupFailed, 'interface setup failed', text);
        }
        const owner = await this.o.veths.ownerOf(spec.hostIf);
        if (owner === undefined || attempt > 0) {
          throw new CniError(
            MARGAY_CNI_ERROR.interfaceSetupFailed,
            'interface setup failed',
            `${spec.podIf} already exists in ${spec.netnsPath}, or ${spec.hostIf} could not be taken over: ${text}`,
          );
        }
        log.warn(
          { hostIf: spec.hostIf, previousOwner: owner },
          'host veth name held by an earlier container of the same pod: replacing it',
        );
        for (const other of this.o.store.othersOn(spec.hostIf, key)) this.o.endpoints.unregister(keyOf(other));
        await this.o.veths.remove(spec.hostIf);
      }
    }
  }

  async #undo(undos: Undo[], log: Logger, cause: unknown): Promise<void> {
    for (const u of undos.reverse()) {
      try {
        await u.run();
      } catch (err) {
        log.error(
          { err, step: u.what, cause: cause instanceof Error ? cause.message : String(cause) },
          'cleanup after a failed ADD failed',
        );
      }
    }
  }

  async #waitProgrammed(key: string, log: Logger): Promise<void> {
    const t = this.o.programmedTimeoutMs ?? 0;
    if (t <= 0 || this.o.endpoints.waitProgrammed === undefined) return;
    if (!(await this.o.endpoints.waitProgrammed(key, t)))
      log.warn({ key, timeoutMs: t }, 'endpoint not programmed in time; answering ADD anyway');
  }

  async #pod(id: PodIdentity) {
    let pod;
    try {
      pod = await this.o.pods.getPod(id.namespace, id.pod);
    } catch (err) {
      throw new CniError(
        CNI_ERROR.tryAgainLater,
        'datastore unavailable',
        `reading Pod ${id.namespace}/${id.pod}: ${(err as Error).message}`,
      );
    }
    if (pod === undefined) {
      throw new CniError(
        MARGAY_CNI_ERROR.podNotFound,
        `pod ${id.namespace}/${id.pod} does not exist`,
        `the datastore has no Pod ${id.namespace}/${id.pod}; the Pod object must exist before its CNI ADD (in file mode, apply it first)`,
      );
    }
    return pod;
  }

  async #delegate(req: CniRequest, command: 'ADD' | 'DEL' | 'CHECK'): Promise<unknown> {
    const env: Record<string, string> = {
      CNI_CONTAINERID: req.containerId ?? '',
      CNI_IFNAME: req.ifName ?? '',
      CNI_ARGS: Object.entries(req.args)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      ...(req.netns !== undefined ? { CNI_NETNS: req.netns } : {}),
    };
    return invokeIpamPlugin({
      type: req.config.ipamType,
      command,
      path: req.path,
      env,
      stdin: JSON.stringify(req.config.raw),
      timeoutMs: this.o.delegateTimeoutMs ?? 30_000,
    });
  }

  async #del(req: CniRequest, log: Logger): Promise<void> {
    const key = this.#key(req);
    const rec = this.o.store.get(key);
    const id = podIdentity(req.args);
    const hostIf = rec?.hostIf ?? hostIfName(id, req.containerId!, req.ifName!);
    // Ours for sure when our record names it and no other record does; otherwise ask the kernel.
    const mine =
      rec !== undefined && this.o.store.othersOn(hostIf, key).length === 0
        ? true
        : (await this.o.veths.ownerOf(hostIf)) === req.containerId;
    if (mine) await this.o.veths.remove(hostIf);
    this.o.endpoints.unregister(key);
    const ipamType = rec?.ipamType ?? req.config.ipamType;
    if (ipamType === 'margay-ipam') {
      try {
        await this.o.ipam.release(rec?.handleId ?? `${req.config.name}.${req.containerId}`);
      } catch (err) {
        throw new CniError(CNI_ERROR.tryAgainLater, 'IP address release failed', (err as Error).message);
      }
    } else {
      await this.#delegate(req, 'DEL');
    }
    await this.o.store.delete(key);
    log.debug({ hostIf, removedVeth: mine }, 'attachment deleted');
  }

  async #check(req: CniRequest): Promise<void> {
    const fail = (what: string): never => {
      throw new CniError(MARGAY_CNI_ERROR.checkFailed, 'attachment is not as ADD made it', what);
    };
    if (req.config.prevResult === undefined)
      throw new CniError(CNI_ERROR.invalidNetworkConfig, 'invalid network configuration', 'CHECK needs prevResult');
    const rec = this.o.store.get(this.#key(req));
    if (rec === undefined)
      throw new CniError(CNI_ERROR.unknownContainer, 'unknown container', `no attachment for ${this.#key(req)}`);
    const prevIps = ((req.config.prevResult.ips as { address?: string }[] | undefined) ?? []).map((i) => i.address);
    for (const a of rec.addresses) if (!prevIps.includes(a)) fail(`prevResult lacks ${a}`);
    if ((await this.o.veths.ownerOf(rec.hostIf)) !== rec.containerId)
      fail(`host veth ${rec.hostIf} is missing or belongs to another container`);
    const pod = await this.o.veths.inspectPod(rec.netns, rec.ifName);
    if (!pod.exists) fail(`${rec.ifName} is missing in ${rec.netns}`);
    if (!pod.up) fail(`${rec.ifName} is down`);
    for (const a of rec.addresses) if (!pod.addresses.includes(a)) fail(`${rec.ifName} lacks ${a}`);
    if (rec.addresses.some((a) => !a.includes(':')) && !pod.defaultVia.includes(POD_GATEWAY[4]))
      fail(`no default route via ${POD_GATEWAY[4]}`);
    if (rec.ipamType !== 'margay-ipam') await this.#delegate(req, 'CHECK');
  }

  async #status(req: CniRequest): Promise<void> {
    if (req.config.ipamType !== 'margay-ipam') return;
    let room: boolean;
    try {
      room = await this.o.ipam.hasRoom();
    } catch (err) {
      throw new CniError(CNI_ERROR.pluginNotAvailable, 'IPAM not available', (err as Error).message);
    }
    if (!room)
      throw new CniError(
        CNI_ERROR.pluginNotAvailableLimitedResources,
        'no free IP addresses',
        `no IP pool usable by node ${this.o.nodeName} has a free address`,
      );
  }

  async #gc(req: CniRequest, log: Logger): Promise<void> {
    const network = req.config.name;
    const valid = new Set(
      (req.config.validAttachments ?? []).map((a) => attachmentKey(network, a.containerId, a.ifName)),
    );
    const validContainers = new Set((req.config.validAttachments ?? []).map((a) => a.containerId));
    let removed = 0;
    for (const rec of this.o.store.all()) {
      if (rec.network !== network || valid.has(keyOf(rec))) continue;
      await this.#locks.run(keyOf(rec), async () => {
        const r = this.o.store.get(keyOf(rec));
        if (r === undefined) return; // deleted meanwhile
        if (
          this.o.store.othersOn(r.hostIf, keyOf(r)).length === 0 ||
          (await this.o.veths.ownerOf(r.hostIf)) === r.containerId
        )
          await this.o.veths.remove(r.hostIf);
        this.o.endpoints.unregister(keyOf(r));
        if (r.ipamType === 'margay-ipam') await this.o.ipam.release(r.handleId);
        await this.o.store.delete(keyOf(r));
        removed++;
      });
    }
    if (req.config.ipamType === 'margay-ipam') {
      for (const h of await this.o.ipam.handlesOf(network)) {
        const cid = h.slice(network.length + 1);
        if (validContainers.has(cid) || this.o.store.all().some((r) => r.handleId === h)) continue;
        await this.o.ipam.release(h);
        removed++;
      }
    }
    log.info({ network, valid: valid.size, removed }, 'CNI GC done');
  }
}

/** `10.0.0.5` or `10.0.0.5/26` → `10.0.0.5/32` (pods get host routes, not on-link subnets). */
function hostCidr(a: string): string {
  const ip = a.includes('/') ? a.slice(0, a.indexOf('/')) : a;
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

/**
 * Per-veth keys. `forwarding` is not among them: a new device inherits conf/default/forwarding,
 * which follows the node's ip_forward; writing it takes the rtnl lock with trylock-and-restart,
 * which costs seconds while a burst of ADDs holds that lock for veth creation.
 */
function hostSysctls(hostIf: string, addresses: readonly string[]): Record<string, number> {
  const s: Record<string, number> = {};
  if (addresses.some((a) => !a.includes(':'))) {
    s[`net/ipv4/conf/${hostIf}/proxy_arp`] = 1;
    s[`net/ipv4/neigh/${hostIf}/proxy_delay`] = 0;
  }
  if (addresses.some((a) => a.includes(':'))) s[`net/ipv6/conf/${hostIf}/accept_ra`] = 0;
  return s;
}

function registration(r: AttachmentRecord, pod?: { metadata: { labels?: Readonly<Record<string, string>> } }) {
  return {
    key: keyOf(r),
    iface: r.hostIf,
    mac: r.podMac,
    containerId: r.containerId,
    ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
    ...(r.pod !== undefined ? { pod: r.pod } : {}),
    ipv4Nets: r.addresses.filter((a) => !a.includes(':')),
    ipv6Nets: r.addresses.filter((a) => a.includes(':')),
    ...(pod?.metadata.labels !== undefined ? { labels: pod.metadata.labels } : {}),
  };
}

export { registration as endpointRegistration };
