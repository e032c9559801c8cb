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
export { setRecvBuffer } from './sockopt.js';
