/** ZeroMQ endpoints without ZeroMQ: defaults, checks, and whether anything listens at one. */
export { DEFAULT_BIND, DEFAULT_PUB, endpointProblem, isLoopback } from './endpoint.js'
export { probeEndpoint } from './probe.js'
export type { Probe } from './probe.js'
