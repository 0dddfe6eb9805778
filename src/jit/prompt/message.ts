import { truncateText } from './budget.js'
import type { MessageView } from './types.js'

/*
 * The budget never cuts the message part, so it bounds itself: what the model
 * must act on stays whole; only an unusually long argument or utterance is
 * shortened, and the cut is marked.
 */
const ARG_CHARS = 500
const MAX_ARGS = 20
const INTENT_CHARS = 4000

/** The message that was not understood, and what the model is to do about it. */
export function messagePart(msg: MessageView): string {
  // An intent slot was found, so the message was understood, but as text that still has to become code.
  const lines = [msg.slotIntent === undefined ? `The message it does not understand: ${msg.selector}` : `The message sent: ${msg.selector}`]
  if (msg.args.length === 0) lines.push('Arguments: (none)')
  else {
    lines.push(`Arguments (${msg.args.length}):`)
    msg.args.slice(0, MAX_ARGS).forEach((a, i) => lines.push(`  ${i + 1}. ${truncateText(a, ARG_CHARS)}`))
    if (msg.args.length > MAX_ARGS) lines.push(`  … and ${msg.args.length - MAX_ARGS} more`)
  }
  if (msg.intent !== undefined) lines.push(`The Architect's intent: ${quote(truncateText(msg.intent, INTENT_CHARS))}`)
  lines.push('')
  const params = msg.args.length === 1 ? '1 argument' : `${msg.args.length} arguments`
  if (msg.slotIntent !== undefined) {
    const { holder, text } = msg.slotIntent
    lines.push(`Slot '${msg.selector}' of ${holder} holds an intent instead of code: ${quote(truncateText(text, INTENT_CHARS))}`)
    lines.push(`Write an act that installs a method named '${msg.selector}' (taking ${params}) on that object, in place of the intent, implementing it: ${reach(holder, msg.selector)}.`)
  } else {
    lines.push(`Write an act that installs a method named '${msg.selector}' (taking ${params}) where it belongs.`)
  }
  lines.push(`Once your act commits, the UVM sends '${msg.selector}' again and your method answers it.`)
  return lines.join('\n')
}

/** The user message: the receiver, then the message. Examples use it too, so that they look like the real thing. */
export function userText(receiverText: string, messageText: string): string {
  return `${receiverText}\n\n${messageText}`
}

/**
 * How act code reaches the holder. Its print string names the prototype it
 * is registered as, or descends from; which of the two the view cannot say,
 * so both ways are given.
 */
function reach(holder: string, selector: string): string {
  const name = /^<([A-Za-z_$][\w$]*) #\d+>$/.exec(holder)?.[1]
  const set = `setSlot(${jsString(selector)}, function (…) { … })`
  if (name === undefined) return `reach it through \`self\` or \`self.parents()\`, then \`….${set}\``
  return `\`prototypes.${name}.${set}\` if ${holder} is the prototype registered as ${name}; otherwise reach it through \`self\` or \`self.parents()\``
}

/** A single-quoted JS string literal, as the examples write them. */
function jsString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}'`
}

function quote(text: string): string {
  return text.includes('\n') ? `\n  ${text.split('\n').join('\n  ')}` : JSON.stringify(text)
}
