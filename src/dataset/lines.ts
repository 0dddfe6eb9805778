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
  let first = true
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      bytes += (chunk as Buffer).length
      let text = rest + decoder.write(chunk as Buffer)
      // Editors on Windows start UTF-8 files with a byte order mark; it is not part of the first line.
      if (first && text.length > 0) {
        first = false
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      let from = 0
      // A line longer than a chunk is searched for its end once, not again with every chunk.
      for (let nl = text.indexOf('\n', Math.max(0, rest.length - 1)); nl !== -1; nl = text.indexOf('\n', from)) {
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
  if (first && rest.charCodeAt(0) === 0xfeff) rest = rest.slice(1)
  line++
  if (rest.trim() !== '') yield { line, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest, bytes }
}
