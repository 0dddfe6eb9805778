import { describe, it, expect } from 'vitest'
import { UvmError } from '../../src/errors.js'
import { ANSWER_INSTRUCTIONS, JitAnswer, parseAnswer, responseFormat, uvmJitJsonSchema } from '../../src/jit/answer.js'

function badAnswer(text: string): UvmError {
  try {
    parseAnswer(text)
  } catch (e) {
    expect(e).toBeInstanceOf(UvmError)
    expect((e as UvmError).code).toBe('JIT_BAD_ANSWER')
    return e as UvmError
  }
  expect.fail(`parseAnswer accepted ${JSON.stringify(text)}`)
}

const good = { explanation: 'answers one', code: 'return 1' }

describe('parseAnswer', () => {
  it('reads a bare JSON answer', () => {
    expect(parseAnswer(JSON.stringify(good))).toEqual(good)
  })

  it('takes autopoietic_act in place of code, and prefers code when both are there', () => {
    expect(parseAnswer('{"explanation": "e", "autopoietic_act": "return 2"}')).toEqual({ explanation: 'e', code: 'return 2' })
    expect(parseAnswer('{"explanation": "e", "code": "return 1", "autopoietic_act": "return 2"}')).toEqual({ explanation: 'e', code: 'return 1' })
    // code wins even over an autopoietic_act of the wrong kind
    expect(parseAnswer('{"explanation": "e", "code": "return 1", "autopoietic_act": {"op": "x"}}')).toEqual({ explanation: 'e', code: 'return 1' })
  })

  it('ignores unknown keys', () => {
    expect(parseAnswer('{"explanation": "e", "code": "c", "confidence": 0.9, "persona": "BRICK"}')).toEqual({ explanation: 'e', code: 'c' })
  })

  it('strips a <think> block and a ```json fence', () => {
    const reply = '<think>\nThe user wants {a: 1}; I will return 1.\n</think>\n\nHere it is:\n```json\n{"explanation": "answers one", "code": "return 1"}\n```\n'
    expect(parseAnswer(reply)).toEqual(good)
  })

  it('strips a bare ``` fence and a reasoning preamble closed without an opening tag', () => {
    expect(parseAnswer('I should answer one.\n</think>\n```\n{"explanation": "answers one", "code": "return 1"}\n```')).toEqual(good)
  })

  it('skips an unterminated <think> preamble up to the JSON', () => {
    expect(parseAnswer('<think>\nmaybe {this} or that\n{"explanation": "answers one", "code": "return 1"}')).toEqual(good)
  })

  it('leaves a <think> inside the answer alone', () => {
    const answer = { explanation: 'models emit <think> tags', code: 'return "<think>"' }
    expect(parseAnswer(JSON.stringify(answer))).toEqual(answer)
  })

  it('allows prose before and after the object', () => {
    expect(parseAnswer('Sure! Here is the answer: {"explanation": "answers one", "code": "return 1"} Hope this helps {:}')).toEqual(good)
  })

  it('respects strings and escapes when finding the object', () => {
    const answer = { explanation: 'a "quoted" } brace', code: 'if (x) { return "}\\\\" }\nreturn {a: [1, 2]}' }
    expect(parseAnswer(`prefix ${JSON.stringify(answer)} suffix`)).toEqual(answer)
  })

  it('tries later candidates when the first object is not the answer', () => {
    expect(parseAnswer('The receiver is {"name": "Point"}. Answer: {"explanation": "answers one", "code": "return 1"}')).toEqual(good)
    expect(parseAnswer('not json {x: 1} then {"explanation": "answers one", "code": "return 1"}')).toEqual(good)
    expect(parseAnswer('{"answer": {"explanation": "answers one", "code": "return 1"}}')).toEqual(good)
  })

  it('accepts raw newlines in strings, which models often write', () => {
    expect(parseAnswer('{"explanation": "two\nlines", "code": "const a = 1\n\treturn a"}')).toEqual({ explanation: 'two\nlines', code: 'const a = 1\n\treturn a' })
  })

  it('accepts a double-encoded answer', () => {
    expect(parseAnswer(JSON.stringify(JSON.stringify(good)))).toEqual(good)
  })

  it('says the reply holds no JSON object', () => {
    expect(badAnswer('I cannot do that.').message).toMatch(/^the reply holds no JSON object/)
    expect(badAnswer('   ').message).toMatch(/^the reply is empty/)
    expect(badAnswer('<think>I wonder whether').message).toMatch(/only <think> reasoning/)
  })

  it('says where the JSON is not valid', () => {
    const e = badAnswer('{"explanation": "e", "code": "return 1",}')
    expect(e.message).toMatch(/^the JSON is not valid: .*position \d+/)
    expect(e.message).toContain('near:')
  })

  it('says when the object never closes (a cut-off reply)', () => {
    expect(badAnswer('{"explanation": "e", "code": "return {').message).toMatch(/never closes/)
  })

  it('names a missing or wrong key precisely', () => {
    expect(badAnswer('{"explanation": "e"}').message).toBe("the answer lacks 'code' (a string of JavaScript)")
    expect(badAnswer('{"code": "return 1"}').message).toMatch(/^the answer lacks 'explanation'/)
    expect(badAnswer('{"explanation": "", "code": "return 1"}').message).toBe("'explanation' must be a non-empty string")
    expect(badAnswer('{"explanation": "  ", "code": "return 1"}').message).toBe("'explanation' must be a non-empty string")
    expect(badAnswer('{"explanation": 3, "code": "return 1"}').message).toBe("'explanation' must be a non-empty string, not a number")
    expect(badAnswer('{"explanation": "e", "code": ["return 1"]}').message).toBe("'code' must be a string of JavaScript, not an array")
    expect(badAnswer('{"explanation": "e", "autopoietic_act": {"op": "x"}}').message).toBe("'autopoietic_act' must be a string of JavaScript, not an object")
  })

  it('reports every missing key at once', () => {
    const e = badAnswer('{"thoughts": "hmm"}')
    expect(e.message).toContain("lacks 'explanation'")
    expect(e.message).toContain("lacks 'code'")
  })

  it('reports the first top-level object, not fragments inside it', () => {
    expect(badAnswer('{"explanation": "e", "code": {"body": "return 1"}}').message).toBe("'code' must be a string of JavaScript, not an object")
  })

  it('prefers a shape error over a syntax error of some other brace', () => {
    expect(badAnswer('Using {x} here: {"explanation": "e"}').message).toBe("the answer lacks 'code' (a string of JavaScript)")
  })
})

describe('JitAnswer schema', () => {
  it('normalises autopoietic_act to code', () => {
    const a: JitAnswer = JitAnswer.parse({ explanation: 'e', autopoietic_act: 'x' })
    expect(a).toEqual({ explanation: 'e', code: 'x' })
  })
})

describe('structured output request', () => {
  it('generates the strict uvm_jit JSON Schema', () => {
    expect(uvmJitJsonSchema()).toEqual({
      type: 'object',
      properties: { explanation: { type: 'string' }, code: { type: 'string' } },
      required: ['explanation', 'code'],
      additionalProperties: false,
    })
  })

  it('builds response_format for each mode', () => {
    expect(responseFormat('json_schema')).toEqual({ type: 'json_schema', json_schema: { name: 'uvm_jit', strict: true, schema: uvmJitJsonSchema() } })
    expect(responseFormat('json_object')).toEqual({ type: 'json_object' })
    expect(responseFormat('prompt')).toBeUndefined()
  })

  it('hands out a fresh schema each time, so a caller cannot change the next request', () => {
    const a = uvmJitJsonSchema()
    ;(a as { type: string }).type = 'array'
    expect(uvmJitJsonSchema().type).toBe('object')
  })

  it('instructs exactly one JSON object with both keys', () => {
    expect(ANSWER_INSTRUCTIONS).toMatch(/exactly one JSON object/)
    expect(ANSWER_INSTRUCTIONS).toContain('"explanation"')
    expect(ANSWER_INSTRUCTIONS).toContain('"code"')
  })
})

describe('a declarative autopoietic_act in an answer', () => {
  it('becomes the JavaScript the act runner runs', () => {
    const a = parseAnswer(JSON.stringify({ explanation: 'adds a slot', autopoietic_act: { action: 'ADD_SLOT', target: 'prototypes', slot: 'answer', value: 42 } }))
    expect(a.explanation).toBe('adds a slot')
    expect(a.code).toContain('// ADD_SLOT prototypes.answer')
  })

  it('that is not of the vocabulary is refused with its path, for the next attempt', () => {
    expect(badAnswer(JSON.stringify({ explanation: 'x', autopoietic_act: { action: 'EVAL', code: '1' } })).message).toMatch(/autopoietic_act\.action: unknown action "EVAL"/)
  })
})
