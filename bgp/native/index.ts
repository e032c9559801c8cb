/** bgp/native: the folder's public surface; other folders import from here. */
export {
  SocketOptionError,
  closeFd,
  createTcpSocket,
  execve,
  isSockoptAvailable,
  setGtsm,
  setMallocTrimThreshold,
  setMinTtl,
  setTcpMd5,
  setTtl,
} from './sockopt.js';
export { releaseFilePages, setRecvBuffer } from './sockopt.js';
export { cleanFileMappings, releaseStartupPages, type FileMapping, type ReleasedPages } from './startup-pages.js';
