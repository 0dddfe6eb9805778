import { endpointProblem, isLoopback } from '../endpoint/index.js'
import type { ServerKeys } from './keys.js'

// Re-exported: the bridge's public face has always offered them.
export { endpointProblem, isLoopback }

/** Loopback by default: any other address must be protected by CURVE. */
export function requireCurveFor(endpoint: string, keys: ServerKeys | undefined): void {
  const problem = endpointProblem(endpoint)
  if (problem !== undefined) throw new Error(problem)
  if (!isLoopback(endpoint) && keys === undefined) {
    throw new Error(`binding ${endpoint} (not loopback) requires CURVE: run \`uvm keys\` and pass --keys DIR`)
  }
}
