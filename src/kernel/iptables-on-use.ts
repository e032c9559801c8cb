import type { IptablesBackend, RestoreOptions } from './iptables-backend.js';
import type { IptablesMode } from './iptables-detect.js';
import type { IptablesTable, SavedTable } from './iptables-format.js';

/**
 * An iptables backend whose kind (nft or legacy, iptables-detect.ts) is detected on the first call
 * of either family instead of when the adapters are built: an agent's cold start programs its routes
 * first (agent/dataplane `routesFirst`), and the detection is four or five process starts and two
 * dump parses its routes do not need. `resolve` is shared by both families and runs once; a failed
 * detection is tried again on the next call.
 */
export class DetectOnUseIptablesBackend implements IptablesBackend {
  #backend: IptablesBackend | undefined;

  constructor(
    readonly family: 4 | 6,
    private readonly resolve: (family: 4 | 6) => Promise<IptablesBackend>,
  ) {}

  /** Undefined until the first call detected it. */
  get mode(): IptablesMode | undefined {
    return this.#backend?.mode;
  }

  async save(table: IptablesTable): Promise<SavedTable> {
    return (await this.#get()).save(table);
  }

  async restore(table: IptablesTable, lines: readonly string[], opts?: RestoreOptions): Promise<void> {
    return (await this.#get()).restore(table, lines, opts);
  }

  async removeOwned(table: IptablesTable): Promise<void> {
    return (await this.#get()).removeOwned(table);
  }

  async #get(): Promise<IptablesBackend> {
    this.#backend ??= await this.resolve(this.family);
    return this.#backend;
  }
}
