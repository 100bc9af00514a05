import type { FlagSpec } from '../flags.js';

/** The estate commands' shared flags; apart from estate-common.ts so that naming a flag loads no YAML parser. */
export const FILE_FLAG: FlagSpec = { name: 'file', type: 'string', value: 'FILE', description: 'the estate file (YAML; schema: docs/estate.schema.json)', short: 'f' };
export const OFFLINE_FLAG: FlagSpec = { name: 'offline', type: 'boolean', description: 'this is the offline (ceremony) machine: never contact Vault; online steps count as done when what they hand over is here (default for apply: offline when Vault does not answer)' };
export const ONE_MACHINE_FLAG: FlagSpec = { name: 'one-machine', type: 'boolean', description: 'the whole file on this machine (rehearsal): the one-go intermediate, no stop at the air gap' };
