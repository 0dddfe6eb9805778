import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { once } from 'node:events'
import { UvmError } from '../errors.js'

/** A file written as a stream, waiting when the disk is slower than the producer (memory stays flat). */
export class FileWriter {
  private constructor(private readonly stream: WriteStream, readonly path: string) {}

  static async open(path: string): Promise<FileWriter> {
    const stream = createWriteStream(path)
    try {
      await once(stream, 'open')
    } catch (e) {
      throw new UvmError('DATASET_BAD_FILE', `cannot write ${path}: ${(e as Error).message}`, { path })
    }
    return new FileWriter(stream, path)
  }

  async write(text: string): Promise<void> {
    if (!this.stream.write(text)) await once(this.stream, 'drain')
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(new UvmError('DATASET_BAD_FILE', `cannot write ${this.path}: ${e.message}`, { path: this.path })) : resolve())))
  }
}
