/**
 * IPAM: Calico-style block allocation over the Datastore interface. The service is `Ipam`
 * (assign, releaseByHandle, releaseAddresses, gc, cniGc, check, usage); everything else here is the
 * pure planning it is built from. See docs/ipam.md.
 */
export { Ipam, handleIdFor, type IpamOptions } from './ipam.js';
export type {
  AssignRequest,
  AssignResult,
  AssignedAddress,
  CniAttachment,
  ReleaseRequest,
  ReleaseResult,
  ReleasedAddress,
} from './types.js';
export {
  IpamAddressInUseError,
  IpamContendedError,
  IpamExhaustedError,
  IpamNoPoolError,
  IpamRequestError,
  type PoolUsage,
} from './errors.js';
export { ANNOTATION, type PoolSource, type PoolUse } from './pools.js';
export {
  REPORT_FORMAT,
  type CheckProblem,
  type CheckReport,
  type ProblemKind,
  type UsageReport,
  type UsageRow,
} from './check.js';
export type { GcOptions, GcResult } from './gc.js';
