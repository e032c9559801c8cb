import { parseCidr } from '../../src/model/index.js';

/**
 * parseCidr, remembered: every plan looks at each of the node's blocks again (a node holds tens to
 * hundreds). Bounded — cleared when full — so names from a hostile datastore cannot grow it.
 */
const parsedCidrs = new Map<string, ReturnType<typeof parseCidr>>();
export function parseCidrCached(cidr: string): ReturnType<typeof parseCidr> {
  if (parsedCidrs.has(cidr)) return parsedCidrs.get(cidr);
  if (parsedCidrs.size >= 4096) parsedCidrs.clear();
  const c = parseCidr(cidr);
  parsedCidrs.set(cidr, c);
  return c;
}
