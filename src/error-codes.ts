/**
 * The catalogue of every MGY_* error code Margay emits: in `MargayError.code`, in control-API and
 * CLI JSON bodies, and in logs. One line each: what it means to an operator. Codes are stable:
 * callers and scripts branch on them, so rename only on purpose. `error-codes.test.ts` checks that
 * every code used in the tree is listed here, that each is declared by exactly one error class (wire
 * codes excepted), and that no entry is stale. Add a line here when you add an error class.
 */
export const ERROR_CODES = {
  // -- generic (src/errors.ts)
  MGY_CONFIG: 'a setting, flag, environment variable or config file failed validation at the edge',
  MGY_VALIDATION: 'a resource failed validation (names the object, the field path and the reason)',
  MGY_KERNEL_OP: 'a kernel command (ip, iptables-restore, ipset, sysctl) failed; carries argv, exit code, stderr',
  MGY_PREREQUISITE: 'something Margay needs is missing (a binary, root, a kernel feature)',
  MGY_INVARIANT: 'an internal invariant broke: a bug; the process crashes and its supervisor restarts it',
  // -- src/net, src/runtime, src/selector
  MGY_PREFIX_SYNTAX: 'text is not a valid IPv4/IPv6 address or prefix (names the text and the reason)',
  MGY_SERVICE_STOPPED: 'work was offered to a service that is stopping or stopped',
  MGY_SERVICE_START: 'a service of a group failed to start; the ones already started were stopped again',
  MGY_SERVICE_STOP: 'one or more services failed while stopping (the others were still stopped)',
  MGY_SELECTOR_PARSE: 'a selector string (Calico expression or label-selector query) does not parse',
  MGY_SELECTOR_INVALID: 'a structured selector (AST or LabelSelector object) is not well formed',
  // -- datastore
  MGY_DATASTORE_CONFLICT: 'compare-and-swap lost: the object changed since it was read; re-read and retry',
  MGY_DATASTORE_NOT_FOUND: 'the object does not exist',
  MGY_DATASTORE_ALREADY_EXISTS: 'create of an object that already exists',
  MGY_DATASTORE_VERSION_EXPIRED: 'a watch asked for a version too old to resume from (410 Gone): relist',
  MGY_DATASTORE_UNAVAILABLE: 'the datastore cannot be reached or answered unexpectedly; retryable',
  MGY_KUBERNETES_API: 'the Kubernetes API server refused a request that is not retried (400, 401, 403, ...)',
  // -- CLI
  MGY_CLI_USAGE: 'margayctl was called with bad arguments (exit code 2)',
  // -- BGP
  MGY_BGP_PROTOCOL: 'a BGP message broke the protocol; carries the NOTIFICATION code/subcode and the RFC 7606 action',
  MGY_BGP_COMMUNITY_SYNTAX: 'a BGP community or large community given as text is not valid',
  MGY_BGP_POLICY: 'a BGP route policy (import/export) does not compile',
  MGY_BGP_PREFIX_TABLE_FULL: 'a RIB prefix table reached its size limit',
  MGY_BGP_RIB_INPUT: 'bytes handed to the RIB are not what the codec validated: a caller bug',
  MGY_BGP_RIB_STATE: 'a RIB operation named a peer or state that does not exist: a caller bug',
  MGY_BGP_FIB_APPLY: 'writing BGP routes into the kernel failed; carries the apply stats, retried after a resync',
  MGY_SOCKOPT: 'a socket option (TCP-MD5, GTSM/TTL) could not be set: the kernel refused',
  MGY_BGP_CONTROL_SOCKET: 'the BGP control socket could not be opened (path in use, permissions)',
  MGY_BGP_CONTROL_CLIENT: 'a control-API request from margayctl failed (daemon not running, bad answer)',
  MGY_BGP_CONTROL_BAD_REQUEST: 'control API: the request body or query is invalid (HTTP 400)',
  MGY_BGP_CONTROL_METHOD: 'control API: method not allowed on this endpoint (HTTP 405)',
  MGY_BGP_CONTROL_NOT_FOUND: 'control API: no such endpoint (HTTP 404)',
  MGY_BGP_CONTROL_INTERNAL: 'control API: an unexpected error while serving the request (HTTP 500)',
  // -- IPAM (ipam/errors.ts)
  MGY_IPAM_BAD_REQUEST:
    'an IPAM request is malformed (handle id characters, unparsable pool/ipAddrs annotation, not an address)',
  MGY_IPAM_NO_POOL:
    'no enabled IP pool can serve the request (none selects the node, or a named pool is missing/disabled)',
  MGY_IPAM_EXHAUSTED:
    'every candidate IP pool is full for this node; says whether retrying shortly helps (addresses cooling down)',
  MGY_IPAM_ADDRESS_IN_USE: 'a fixed address is already allocated, reserved (IPReservation), or in no pool',
  MGY_IPAM_CONTENDED: 'IPAM compare-and-swap kept losing to concurrent writers; retryable',
  // -- agent dataplane
  MGY_DATAPLANE_APPLY:
    'a dataplane reconciler (routes, iptables, ipsets, ...) failed to apply; it resyncs and the loop retries with back-off',
  MGY_DATAPLANE_ENDPOINT_WAIT:
    'a workload endpoint was not programmed in time (or was removed / the dataplane stopped) while a caller waited for it',
  // -- agent (margay-node)
  MGY_IP_AUTODETECT: 'IP_AUTODETECTION_METHOD found no address for the node (names the method and the addresses seen)',
  MGY_NODE_NOT_REGISTERED: 'Kubernetes mode: the Node object does not exist yet (kubelet registers it); retried',
  MGY_AGENT_CONTROL_READ_ONLY:
    'the agent status socket refuses announce/withdraw: the agent originates its blocks from the datastore',
  MGY_CNI_IPAM_CONFIG:
    'the CNI netconf ipam section is invalid (assign_ipv4/assign_ipv6 not booleans, pools not a list)',
  // -- CNI
  MGY_CNI: 'the CNI plugin answers a spec error (printed as CNI error JSON with its spec code, non-zero exit)',
  MGY_CNI_STATE: "the agent's stored CNI attachments could not be read or written",
  MGY_CNI_SOCKET_IN_USE: "the agent's CNI socket path is held by another live agent",
  // -- lab
  MGY_LAB_SPEC: 'a lab or topology spec is malformed (names the field and the reason)',
  MGY_LAB_TOPOLOGY: 'building or tearing down a lab topology failed (what was built is removed again)',
  MGY_LAB_PROCESS:
    'a lab process (margay-node, margay-bgpd, BIRD, FRR, GoBGP, labnet, CNI plugin) failed to start, died or could not be stopped',
  MGY_LAB_TIMEOUT: 'the lab waited too long for a daemon or a condition',
  MGY_LAB_STATE: "a lab's state file or lab dir is missing, malformed, busy or belongs to another lab",
} as const satisfies Record<`MGY_${string}`, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
