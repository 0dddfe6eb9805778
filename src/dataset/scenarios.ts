/**
 * Task specifications for synthetic expansion, by chapter: seed 002 §3's taxonomy and seed 000's
 * chapters, each a conversation the teacher is asked to write (seed 002 §4.2's "task specification").
 */
export const SCENARIOS: Record<number, readonly string[]> = {
  1: [
    'The Architect sends a message no slot answers (a new selector for a visual need); the UVM-JIT explains doesNotUnderstand: as the trigger for creation and builds the missing morph prototype by cloning Morph.',
    'A three-turn conversation: the Architect asks for a text input morph and a submit button, then corrects the button\'s color, then wires the button\'s press to send the input\'s text to the UVM.',
    'The Architect asks to clone the ButtonMorph prototype as a named instance, set its label, and add it to the world morph (composition).',
    'The Architect asks for a status label that shows the backend state, and for the method that updates it from a state-update event.',
  ],
  2: [
    'The Architect asks to replace a native if/else with message passing: the True and False prototypes answer ifTrue:ifFalse: by sending to blocks.',
    'The Architect asks for a loop as a message (whileTrue: on a Block prototype), then for a counter that uses it.',
  ],
  3: [
    'The Architect asks the CognitiveWeaver to keep a registry of LoRA adapters, with an intent-string method slot that loads one through the llm capability.',
    'The Architect asks for a method that unloads the least-used adapter when memory is short, explained as resource management for the mind.',
  ],
  4: [
    'The Architect asks for a multi-persona review (the AlchemicalCrucible) that runs a proposed change past two personas before it is accepted.',
    'The Architect asks for an AtomicSwap: a method that replaces a method slot only after its replacement passes a check, explained as transactional self-modification.',
  ],
  5: [
    'An idle-state prompt reports a low Composite Entropy Metric; the UVM-JIT diagnoses low structural complexity and designs a new facet with a small synthetic dataset for UnslothForge.',
    'A "fine-tuning complete" report arrives; the UVM-JIT integrates the new adapter into the CognitiveWeaver\'s registry.',
  ],
  6: [
    'The system finds a weakness on one kind of task and decides to fine-tune two specialised adapters from one base model, recording each specialisation.',
  ],
  7: [
    'ALFRED\'s integrity audit traces a recurring flaw to an ambiguous curriculum entry; the act writes a corrected conversation line into the image and proposes a fine-tuning run.',
  ],
  8: [
    'The system needs a library it lacks: the act plans the Ship of Theseus handoff (a clone process installs it, validates against the image, then takes over) and records the plan.',
  ],
  9: [
    'The SystemMonitor reports the GPU memory; the act decides how many LoRA adapters to keep loaded (one on 8 GB, three on 24 GB) and explains why.',
  ],
}

/** The chapters a run covers: one, or every chapter that has scenarios. */
export function scenarioChapters(chapter?: number): number[] {
  return chapter !== undefined ? [chapter] : Object.keys(SCENARIOS).map(Number).sort((a, b) => a - b)
}
