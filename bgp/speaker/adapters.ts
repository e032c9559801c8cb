/**
 * The real ports behind the speaker: B3's Rib and B2's Session / listener. One place adapts their
 * exact surfaces to the speaker's narrow ports (ports.ts).
 */
import { Rib } from '../rib/rib.js';
import type { RibFactory } from './ports.js';

export const defaultRibFactory: RibFactory = (options) => new Rib(options);
