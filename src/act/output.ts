/** Captured `print` output with a cap: past it, the rest is dropped and a marker says so. */
export class Output {
  private readonly parts: string[] = []
  private size = 0
  truncated = false

  constructor(private readonly limit: number) {}

  print(line: string): void {
    if (this.truncated) return
    const room = this.limit - this.size
    if (line.length + 1 > room) {
      this.parts.push(line.slice(0, Math.max(0, room)))
      this.parts.push(`\n… output truncated at ${this.limit} characters\n`)
      this.truncated = true
      return
    }
    this.parts.push(line, '\n')
    this.size += line.length + 1
  }

  text(): string {
    return this.parts.join('')
  }
}
