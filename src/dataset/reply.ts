/**
 * The JSON object in a teacher's or a judge's reply. Models wrap answers in reasoning and fences
 * whatever they are told, so the envelope is forgiven and the shape is then checked by a schema.
 */
export function replyObject(text: string): unknown {
  let t = text
  const close = t.lastIndexOf('</think>')
  if (close !== -1) t = t.slice(close + '</think>'.length)
  t = t.replace(/```(?:json|jsonl)?/gi, '').trim()
  try {
    return JSON.parse(t)
  } catch {
    const start = t.indexOf('{'), end = t.lastIndexOf('}')
    if (start === -1 || end <= start) return undefined
    try {
      return JSON.parse(t.slice(start, end + 1))
    } catch {
      return undefined
    }
  }
}
