/**
 * Captured `print` output with a cap: past it, the rest is dropped and a note at the end says how
 * much. Cut, not failed: what an act printed is a report for a person, the act's work is its
 * transaction, and an act that did its work should not be undone for talking too much. The note
 * makes the cut visible wherever the output is shown.
 */
export class Output {
  private readonly parts: string[] = []
  private size = 0
  /** Characters dropped past the cap (line breaks included). */
  private dropped = 0
  truncated = false

  constructor(private readonly limit: number) {}

  print(line: string): void {
    if (this.truncated) {
      this.dropped += line.length + 1
      return
    }
    const room = this.limit - this.size
    if (line.length + 1 > room) {
      const kept = Math.max(0, room)
      this.parts.push(line.slice(0, kept))
      this.dropped += line.length + 1 - kept
      this.truncated = true
      return
    }
    this.parts.push(line, '\n')
    this.size += line.length + 1
  }

  text(): string {
    const text = this.parts.join('')
    return this.truncated ? `${text}\n… ${this.dropped.toLocaleString('en-US')} characters cut: an act's output is capped at ${this.limit.toLocaleString('en-US')} characters\n` : text
  }
}
