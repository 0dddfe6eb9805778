/**
 * The plain data the prompt parts are built from. The JIT reads the image into
 * these (src/jit/view.ts) so that every part here stays a pure function of text.
 */

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface SlotInfo {
  name: string
  kind: 'parent' | 'method' | 'primitive' | 'reference' | 'data' | 'intent'
  /** A short printed value, for data, reference, parent and intent slots. */
  value?: string
}

export interface ReceiverView {
  /** e.g. "<Rect #12>" */
  print: string
  /** The receiver's own slots, in slot order. */
  slots: SlotInfo[]
  /** Each ancestor in lookup order, with its slot names. */
  parents: { print: string; slots: string[] }[]
  /** A few nearby methods: own first, then inherited. */
  methods: { holder: string; name: string; source: string }[]
}

export interface MessageView {
  selector: string
  /** Printed values. */
  args: string[]
  /** The Architect's utterance, when one came with the send. */
  intent?: string
  /** The slot held {"$intent": text} instead of code: compile it into a method in that slot on that holder. */
  slotIntent?: { holder: string; text: string }
}

/** One uvm_jit example conversation turn: the Architect's side and the JIT's dual output. */
export interface Example { architect: string; explanation: string; code: string }

/** A failed attempt: the answer (when one was parsed) and what went wrong. */
export interface Attempt { code?: string; explanation?: string; error: string }
