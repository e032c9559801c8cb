/**
 * Node's `server.listen(port, host)` — the health and metrics ports, the BGP listener — passes the
 * address through dns.lookup and then `net.isIPv6` (net.js isIpv6LinkLocal), even for an IPv4
 * literal. isIPv6's regular expression is large: V8 compiles it first for its interpreter (≈ 5 ms of
 * CPU) and again to native code on the second call (≈ 1.5 ms); compiled natively at once it costs
 * ≈ 1.7 ms. So the agent compiles it once, natively, before its first listen: the tier-up flag is
 * off for that one compilation only, and the regular expression keeps its native code afterwards.
 */
import { isIPv6 } from 'node:net';
import { setFlagsFromString } from 'node:v8';

let done = false;

export function compileIpv6CheckNatively(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--no-regexp-tier-up');
  try {
    isIPv6('::');
  } finally {
    setFlagsFromString('--regexp-tier-up');
  }
}
