import type { LlmClient, ProbeReport } from '../../jit/index.js'
import { intOption, parse } from '../args.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'
import { withHint } from '../suggest.js'

/** `uvm llm check`: what the configured LLM server supports, probed the way the JIT will use it. */
export const llm: CommandSpec = {
  name: 'llm',
  summary: 'uvm llm check: probe the LLM server (models, structured output, a round trip, runtime LoRA)',
  usage: 'uvm llm check [--llm-url URL] [--llm-model NAME] [--llm-timeout S] [--json]',
  subcommands: ['check'],
  options: [
    ['--llm-url URL', 'the OpenAI-compatible server (env UVM_LLM_URL)'],
    ['--llm-model NAME', 'the model to ask (env UVM_LLM_MODEL; default the first the server lists)'],
    ['--llm-key KEY', 'a Bearer token (env UVM_LLM_KEY, preferred)'],
    ['--llm-timeout S', 'seconds per request (default 60)'],
    ['--json', 'print the report as JSON'],
  ],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { 'llm-url': { type: 'string' }, 'llm-model': { type: 'string' }, 'llm-key': { type: 'string' }, 'llm-timeout': { type: 'string' }, json: { type: 'boolean' } }, 'llm')
    if (positionals.length === 0) throw new UsageError('missing the subcommand: uvm llm check', 'llm')
    if (positionals[0] !== 'check') throw new UsageError(withHint(`unknown subcommand "${positionals[0]}": the one there is is uvm llm check`, positionals[0]!, ['check']), 'llm')
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}" (uvm llm check takes none)`, 'llm')
    const url = values['llm-url'] ?? io.env.UVM_LLM_URL
    if (url === undefined || url === '') throw new UsageError('no LLM server to check: give --llm-url URL or set UVM_LLM_URL (e.g. http://127.0.0.1:8000 for vLLM, http://127.0.0.1:11434 for Ollama)', 'llm')
    const timeout = intOption(values['llm-timeout'], 'llm-timeout', 'llm', 1)
    const model = values['llm-model'] ?? io.env.UVM_LLM_MODEL
    const key = values['llm-key'] ?? io.env.UVM_LLM_KEY
    const { LlmClient } = await import('../../jit/index.js')
    let client: LlmClient
    try {
      client = new LlmClient({ url, ...(model && { model }), ...(key && { key }), ...(timeout !== undefined && { timeoutMs: timeout * 1000 }) })
    } catch (e) {
      throw new UsageError((e as Error).message, 'llm')
    }
    const report = await client.probe()
    if (values.json === true) io.out(JSON.stringify(report))
    else io.out(reportText(report, client.model))
    // Usable for the JIT: it answers chats in some structured mode.
    return typeof report.mode === 'string' ? 0 : 1
  },
}

function reportText(r: ProbeReport, model: string | undefined): string {
  const err = (v: { error: string }) => `no: ${v.error}`
  return [
    `server:      ${r.server}`,
    `models:      ${Array.isArray(r.models) ? (r.models.length > 0 ? r.models.join(', ') : '(none listed)') : err(r.models)}`,
    `model used:  ${model ?? '(the server\'s default)'}`,
    `structured:  ${typeof r.mode === 'string' ? `${r.mode}${r.mode === 'json_schema' ? ' (response_format json_schema, strict)' : r.mode === 'json_object' ? ' (json_schema refused; JSON mode)' : ' (neither JSON mode answers: prompt instructions only)'}` : err(r.mode)}`,
    `round trip:  ${r.roundTripMs !== undefined ? `${Math.round(r.roundTripMs)} ms` : 'none'}${r.reply !== undefined ? ` (${JSON.stringify(r.reply.length > 80 ? r.reply.slice(0, 79) + '…' : r.reply)})` : ''}`,
    `runtime LoRA: ${typeof r.lora === 'string' ? r.lora : err(r.lora)}`,
  ].join('\n')
}
