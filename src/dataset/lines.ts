import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import { UvmError } from '../errors.js'

/** One line of a JSONL file, with the bytes read so far (for a progress bar's ETA). */
export interface SourceLine {
  line: number
  text: string
  bytes: number
}

/** The file's size, or a DATASET_BAD_FILE error a person can act on. */
export async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path)
    if (s.isDirectory()) throw new UvmError('DATASET_BAD_FILE', `${path} is a folder; give a .jsonl file`, { path })
    return s.size
  } catch (e) {
    if (e instanceof UvmError) throw e
    const code = (e as NodeJS.ErrnoException).code
    throw new UvmError('DATASET_BAD_FILE', code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(e as Error).message}`, { path })
  }
}

/** Lines of a file as a stream (memory stays flat for any size); blank lines are skipped, their numbers kept. */
export async function* readLines(path: string): AsyncGenerator<SourceLine> {
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let line = 0
  let bytes = 0
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      bytes += (chunk as Buffer).length
      const text = rest + decoder.write(chunk as Buffer)
      let from = 0
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
        line++
        const l = text.charCodeAt(nl - 1) === 13 ? text.slice(from, nl - 1) : text.slice(from, nl)
        from = nl + 1
        if (l.trim() !== '') yield { line, text: l, bytes }
      }
      rest = text.slice(from)
    }
  } catch (e) {
    throw new UvmError('DATASET_BAD_FILE', `cannot read ${path}: ${(e as Error).message}`, { path })
  }
  rest += decoder.end()
  line++
  if (rest.trim() !== '') yield { line, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest, bytes }
}
