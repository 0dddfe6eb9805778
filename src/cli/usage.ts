/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface CommandSpec {
  name: string
  summary: string
  usage: string
  /** Option descriptions for help, in order (`uvm completion` reads the flags from them too). */
  options: [flag: string, text: string][]
  /** Its subcommands, for a command such as `uvm dataset validate` (help entries `SUB --flag` are that subcommand's). */
  subcommands?: string[]
  run(argv: string[], io: Io): Promise<number>
}

export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  debug: boolean
  /** Whether standard output and standard error may be coloured (see colour.ts); absent: plain. */
  colour?: { out: boolean; err: boolean }
}
