// Public API of the test harness. The vitest fixture lives in use-clusters.ts (it imports
// vitest, so it stays out of this module that cluster-up and benchmarks load).
export { startClusters, firstServiceIp } from './start-clusters.ts';
export type { StartOptions } from './start-clusters.ts';
export { ClusterSet } from './cluster-set.ts';
export type { SetResources, StopOptions } from './cluster-set.ts';
export { Cluster } from './cluster.ts';
export type { KubectlOptions, KubectlResult } from './cluster.ts';
export type { ClientCredentials } from './cluster-pki.ts';
export { installCrds, readCrds } from './install-crds.ts';
export { resolveBinaries } from './binaries.ts';
export type { Binaries } from './binaries.ts';
export { HarnessError } from './errors.ts';
export type { HarnessErrorCode } from './errors.ts';
export { waitFor } from './wait-for.ts';
