import { messagePart, userText } from './message.js'
import { receiverPart } from './receiver.js'
import type { ChatMessage, Example, MessageView, ReceiverView } from './types.js'

/** The root traits as a view lists them (a function: a shared array would be module state). */
const traits = () => ({ print: '<Traits #1>', slots: ['name', 'clone', 'copy', 'setSlot', 'getSlot', 'removeSlot', 'hasSlot', 'slotNames', 'parents', 'respondsTo', 'perform', 'printString', 'doesNotUnderstand:', 'mirror', 'lobby'] })

/** The Architect's side of an example: the same text the JIT sends for a real doesNotUnderstand:. */
function architect(receiver: ReceiverView, message: MessageView): string {
  return userText(receiverPart(receiver), messagePart(message))
}

/*
 * Golden examples in this JS dialect (each is run against a real image in
 * test/jit/prompt.test.ts). Between them they show the choices the rules ask
 * for: general behaviour on the registered prototype, particular behaviour
 * on the receiver, a method that reads the object's own structure, and an
 * intent slot compiled in place.
 */
export const BUILTIN_EXAMPLES: readonly Example[] = Object.freeze([
  {
    architect: architect(
      {
        print: '<Rect #12>',
        slots: [{ name: 'parent*', kind: 'parent', value: '<Rect #7>' }, { name: 'width', kind: 'data', value: '3' }, { name: 'height', kind: 'data', value: '4' }],
        parents: [{ print: '<Rect #7>', slots: ['parent*', 'width', 'height'] }, traits()],
        methods: [],
      },
      { selector: 'area', args: [], intent: 'How big is this rectangle?' },
    ),
    explanation: "'area' names no slot of <Rect #12> or of its parents, so doesNotUnderstand: brought the Architect's question to me. Every rectangle has a width and a height, so area is general behaviour: by the prototypal imperative it belongs on the Rect prototype, which this clone and every other rectangle delegate to. I install it as a method rather than storing 12, so that it stays true when a width changes; when the UVM sends 'area' again, the new slot answers.",
    code: "prototypes.Rect.setSlot('area', function () {\n  return this.width * this.height\n})",
  },
  {
    architect: architect(
      {
        print: '<Ada #20>',
        slots: [{ name: 'parent*', kind: 'parent', value: '<Traits #1>' }, { name: 'name', kind: 'data', value: '"Ada"' }],
        parents: [traits()],
        methods: [],
      },
      { selector: 'greet', args: ['"Grace"'], intent: 'Ada, say hello to Grace.' },
    ),
    explanation: "Ada delegates only to the root traits and no registered prototype stands behind her, so greeting is hers alone: I install 'greet' on the receiver itself, not on the traits every object shares. The method takes the name as its argument instead of baking in 'Grace', and reads Ada's own name slot, so it answers any greeting the Architect asks for next.",
    code: "self.setSlot('greet', function (who) {\n  return 'Hello, ' + who + '. I am ' + this.name + '.'\n})",
  },
  {
    architect: architect(
      {
        print: '<Counter #9>',
        slots: [{ name: 'parent*', kind: 'parent', value: '<Counter #8>' }, { name: 'count', kind: 'data', value: '3' }, { name: 'label', kind: 'data', value: '"clicks"' }],
        parents: [{ print: '<Counter #8>', slots: ['parent*', 'count', 'label', 'increment'] }, traits()],
        methods: [{ holder: '<Counter #8>', name: 'increment', source: 'function () {\n  this.count = this.count + 1\n  return this.count\n}' }],
      },
      { selector: 'describe', args: [] },
    ),
    explanation: "No utterance came with 'describe', so the selector is the intent: a counter telling what it holds. Every counter should answer it, so it goes on the Counter prototype beside 'increment'. It reads the receiver's own slotNames() at each call instead of a fixed list, so a slot added later shows up without recompiling; parent slots are delegation, not state, and methods are behaviour, so both are left out.",
    code: "prototypes.Counter.setSlot('describe', function () {\n  const state = this.slotNames()\n    .filter((n) => !n.endsWith('*') && typeof this.getSlot(n) !== 'function')\n    .map((n) => n + ': ' + String(this.getSlot(n)))\n  return this.printString() + ' { ' + state.join(', ') + ' }'\n})",
  },
  {
    architect: architect(
      {
        print: '<Rect #12>',
        slots: [{ name: 'parent*', kind: 'parent', value: '<Rect #7>' }, { name: 'width', kind: 'data', value: '3' }, { name: 'height', kind: 'data', value: '4' }],
        parents: [{ print: '<Rect #7>', slots: ['parent*', 'width', 'height', 'area', 'perimeter'] }, traits()],
        methods: [{ holder: '<Rect #7>', name: 'area', source: 'function () {\n  return this.width * this.height\n}' }],
      },
      { selector: 'perimeter', args: [], slotIntent: { holder: '<Rect #7>', text: 'the length around the rectangle: twice the sum of its width and height' } },
    ),
    explanation: "The Architect wrote 'perimeter' on the Rect prototype as an intent, not as code: this is the JIT for intent at its plainest. I compile the intent into a method in the same slot of the same object, replacing the text with behaviour, so every rectangle gains it inside the live image and nothing outside it is touched. It follows 'area' beside it: a method over this.width and this.height.",
    code: "prototypes.Rect.setSlot('perimeter', function () {\n  return 2 * (this.width + this.height)\n})",
  },
].map((e) => Object.freeze(e)))

/** Each example as the Architect's turn and the uvm_jit answer, in the seeds' JSON format. */
export function examplesPart(examples: readonly Example[]): ChatMessage[] {
  return examples.flatMap((e): ChatMessage[] => [
    { role: 'user', content: e.architect },
    { role: 'assistant', content: JSON.stringify({ explanation: e.explanation, code: e.code }) },
  ])
}
