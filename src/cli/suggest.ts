/** Optimal string alignment distance: Levenshtein, plus a swap of two neighbours as one edit (`pnig`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** The closest of `names` to a mistyped `word`, when it is close enough to be what was meant. */
export function closest(word: string, names: readonly string[]): string | undefined {
  const bound = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const n of names) {
    const dist = editDistance(word.toLowerCase(), n.toLowerCase())
    if (dist < bestDistance) { best = n; bestDistance = dist }
  }
  return bestDistance <= bound ? best : undefined
}

/** `message. Did you mean \`ping\`?`, or the message alone. */
export function withHint(message: string, word: string, names: readonly string[]): string {
  const hint = didYouMean(word, names)
  return hint ? `${message}.${hint}` : message
}

/** ` Did you mean \`ping\`?`, or nothing. */
export function didYouMean(word: string, names: readonly string[]): string {
  const c = closest(word, names)
  return c === undefined ? '' : ` Did you mean \`${c}\`?`
}
