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
  /** Option descriptions for help, in order. */
  options: [flag: string, text: string][]
  run(argv: string[], io: Io): Promise<number>
}

export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  debug: boolean
}
