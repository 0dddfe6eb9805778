#!/usr/bin/env node
// The `uvm` executable: everything lives in cli.ts so tests can call main() without a process.
import { main } from './cli.js'
import type { Io } from './usage.js'
import { colourWanted } from './colour.js'

// `uvm dataset export | head`: a reader that stops early is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e })

const io: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  env: process.env,
  debug: process.argv.includes('--debug') || process.env.UVM_DEBUG === '1',
  colour: { out: colourWanted(process.env, process.stdout.isTTY === true), err: colourWanted(process.env, process.stderr.isTTY === true) },
}

main(process.argv.slice(2), io).then((code) => { process.exitCode = code }, (e) => {
  process.stderr.write(`uvm: ${(e as Error).message}\n`)
  process.exitCode = 1
})
