/**
 * Pipeline fuzzing: whatever the codec accepts is handed to the real RIB (bgp/rib) exactly as the speaker
 * does (bgp/speaker/peer.ts #onUpdate), so "no byte sequence crashes the process" is checked across the
 * codec → RIB boundary, not only inside the codec. One RIB peer per DecodeOptions set, all families up.
 */
import { FAMILY, type DecodeOptions, type UpdateMessage } from '../../bgp/codec/index.js';
import { Rib, type Family } from '../../bgp/rib/index.js';

export class RibSink {
  readonly #rib = new Rib({ localAs: 65000, routerId: '10.0.0.254', ebgpRequiresPolicy: false, maxPaths: 4 });
  readonly #ids: string[] = [];
  /** UPDATEs ingested, prefixes announced/withdrawn per the RIB, UPDATE bytes it sent out. */
  readonly counts = { updates: 0, announced: 0, withdrawn: 0, outBytes: 0 };

  constructor(optionSets: readonly DecodeOptions[]) {
    optionSets.forEach((o, i) => {
      const id = `10.0.0.${i + 1}`;
      this.#ids.push(id);
      this.#rib.addPeer({
        id,
        address: id,
        peerAs: o.isIbgp ? 65000 : 65001,
        localAddress: '10.0.0.254',
        localAddressV6: '2001:db8::fe',
      });
      const addPath: Family[] = [];
      if (o.addPathReceive.has(FAMILY.IPV4_UNICAST)) addPath.push('ipv4');
      if (o.addPathReceive.has(FAMILY.IPV6_UNICAST)) addPath.push('ipv6');
      const families: Family[] = [];
      if (o.families.has(FAMILY.IPV4_UNICAST)) families.push('ipv4');
      if (o.families.has(FAMILY.IPV6_UNICAST)) families.push('ipv6');
      this.#rib.peerUp(id, {
        peerRouterId: id,
        fourOctetAs: o.fourOctetAs,
        families,
        addPathReceive: addPath,
        extendedMessages: o.extendedMessages,
      });
    });
  }

  /** Feed one decoded UPDATE from the peer of option set `i`; drain outbound so the RIB does its export work too. */
  ingest(i: number, m: UpdateMessage): void {
    const id = this.#ids[i]!;
    const r = this.#rib.ingestUpdate(id, {
      withdrawn: m.withdrawn,
      attrs: m.rawAttributes,
      nlri: m.nlri,
      treatAsWithdraw: m.action === 'treat-as-withdraw',
    });
    this.counts.updates++;
    this.counts.announced += r.announced;
    this.counts.withdrawn += r.withdrawn;
    for (const other of this.#ids)
      if (other !== id) for (const b of this.#rib.takeOutbound(other, 1 << 20)) this.counts.outBytes += b.length;
  }
}
