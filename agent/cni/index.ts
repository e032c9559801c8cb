/**
 * The agent's CNI endpoint, composed by agent/main.ts as one object:
 *
 *   const cni = new CniServer({
 *     nodeName,                 // this node (IPAM affinity, STATUS messages)
 *     ipam,                     // CniIpam: assign/release by handle `<network>.<containerId>`, handlesOf, hasRoom
 *     endpoints,                // EndpointRegistry: the calc graph's workload-endpoint input
 *                               //   (register/unregister; optional waitProgrammed for policy_setup_timeout)
 *     pods,                     // PodDirectory: Pod objects from the datastore (K8S_POD_* identity)
 *     log,                      // a child logger
 *     mtu: () => vethMtu,       // optional: pod MTU when the netconf has none
 *     programmedTimeoutMs: 0,   // optional: wait after ADD until the endpoint is in the kernel
 *     runDir: '/run/margay',    // optional: socket <runDir>/cni-<netns inode>.sock, state <runDir>/cni-<ino>.d
 *   });
 *   await cni.start();  …  await cni.stop();
 *
 * start() re-registers the endpoints of attachments made before a restart. The plugin binary finds
 * the socket by itself (cni/wire.ts `defaultSocketPath`). docs/cni.md describes the whole flow.
 */
export { CniServer, CniSocketInUseError, type CniServerOptions } from './server.js';
export type {
  CniIpam,
  EndpointRegistry,
  IpamAssignRequest,
  PodDirectory,
  WorkloadEndpointRegistration,
} from './ports.js';
export { hostIfName } from './identity.js';
