/** The CLI core: the command-table shapes every command group (bgp/cli, ipam/cli, src/lab) builds on. */
export {
  UsageError,
  type CliIo,
  type Command,
  type CommandGroup,
  type LazyCommand,
  type LazyCommandGroup,
} from './command.js';
export { DEFAULT_DATASTORE, withStore } from './datastore.js';
export { RESOURCE_COMMANDS } from './resources.js';
