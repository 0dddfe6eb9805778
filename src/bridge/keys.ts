import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as zmq from 'zeromq'

/**
 * A keys folder (Z85 text files):
 *   server.key_secret, server.key      the server's keypair
 *   clients/<name>.key                 public keys of admitted clients
 *   clients/<name>.key_secret          a client's secret (hand it to that client only)
 *   readers/<name>.key, .key_secret    the same for read-only clients: admitted only on the
 *                                      daemon's reader endpoint (uvm boot --reader-bind)
 */
export interface ServerKeys {
  publicKey: string
  secretKey: string
  /** Z85 public keys the ZAP handler admits. */
  allowedClients: string[]
  /** Z85 public keys of read-only clients (readers/): never admitted where writes are served. */
  readOnlyClients?: string[]
}

export interface ClientKeys {
  publicKey: string
  secretKey: string
  serverPublicKey: string
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

export async function makeKeys(dir: string, clientNames: string[] = ['client'], readerNames: string[] = []): Promise<{ created: string[] }> {
  const created: string[] = []
  await mkdir(join(dir, 'clients'), { recursive: true })
  if (readerNames.length > 0) await mkdir(join(dir, 'readers'), { recursive: true })
  if (!existsSync(join(dir, 'server.key_secret'))) {
    const kp = zmq.curveKeyPair()
    await writeSecret(join(dir, 'server.key_secret'), kp.secretKey)
    await writeFile(join(dir, 'server.key'), kp.publicKey + '\n')
    created.push('server.key', 'server.key_secret')
  }
  const wanted = [...clientNames.map((n) => ['clients', n] as const), ...readerNames.map((n) => ['readers', n] as const)]
  for (const [folder, name] of wanted) {
    if (!/^[\w.-]{1,64}$/.test(name)) throw new Error(`client name "${name}": use letters, digits, '.', '_' or '-'`)
    // One name, one set of rights: a name in both folders would leave it unclear which key a client holds.
    const other = folder === 'clients' ? 'readers' : 'clients'
    if (existsSync(join(dir, other, `${name}.key`))) throw new Error(`client "${name}" already has a key in ${join(dir, other)}; pick another name (or remove that key first)`)
  }
  for (const [folder, name] of wanted) {
    if (existsSync(join(dir, folder, `${name}.key`))) continue
    const kp = zmq.curveKeyPair()
    await writeFile(join(dir, folder, `${name}.key`), kp.publicKey + '\n')
    await writeSecret(join(dir, folder, `${name}.key_secret`), kp.secretKey)
    created.push(`${folder}/${name}.key`, `${folder}/${name}.key_secret`)
  }
  return { created }
}

export async function loadServerKeys(dir: string): Promise<ServerKeys> {
  const secretKey = await readKey(join(dir, 'server.key_secret'), dir)
  const publicKey = await readKey(join(dir, 'server.key'), dir)
  return { publicKey, secretKey, allowedClients: await publicKeys(dir, 'clients'), readOnlyClients: await publicKeys(dir, 'readers') }
}

async function publicKeys(dir: string, sub: string): Promise<string[]> {
  const folder = join(dir, sub)
  const keys: string[] = []
  let files: string[] = []
  try { files = await readdir(folder) } catch { /* no such folder: nobody admitted */ }
  for (const f of files.sort()) if (f.endsWith('.key')) keys.push(await readKey(join(folder, f), dir))
  return keys
}

/**
 * A client's keys: clients/NAME, or readers/NAME for a read-only client. With no NAME: `client` (what
 * `uvm keys` makes by default), else the one keypair in clients/ (or, when clients/ has none, in readers/).
 */
export async function loadClientKeys(dir: string, name?: string): Promise<ClientKeys> {
  if (name !== undefined && !existsSync(join(dir, 'clients', `${name}.key`)) && !existsSync(join(dir, 'readers', `${name}.key`))) {
    const list = async (sub: string) => (await keyNames(dir, sub)).join(', ') || 'none'
    throw new Error(`no keypair "${name}" in ${dir} (clients/: ${await list('clients')}; readers/: ${await list('readers')}); \`uvm keys --dir ${dir} --client ${name}\` or \`--reader ${name}\` makes one`)
  }
  name ??= await defaultClientName(dir)
  const folder = !existsSync(join(dir, 'clients', `${name}.key`)) && existsSync(join(dir, 'readers', `${name}.key`)) ? 'readers' : 'clients'
  return {
    publicKey: await readKey(join(dir, folder, `${name}.key`), dir),
    secretKey: await readKey(join(dir, folder, `${name}.key_secret`), dir),
    serverPublicKey: await readKey(join(dir, 'server.key'), dir),
  }
}

/** The names of the keypairs (with their secret) in clients/ or readers/. */
async function keyNames(dir: string, sub: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, sub))).filter((f) => f.endsWith('.key_secret')).map((f) => f.slice(0, -'.key_secret'.length)).sort()
  } catch {
    return []
  }
}

async function defaultClientName(dir: string): Promise<string> {
  const names = (sub: string) => keyNames(dir, sub)
  if (existsSync(join(dir, 'clients', 'client.key')) || existsSync(join(dir, 'readers', 'client.key'))) return 'client'
  const clients = await names('clients')
  if (clients.length === 1) return clients[0]!
  const readers = await names('readers')
  return clients.length === 0 && readers.length === 1 ? readers[0]! : 'client'
}

/** `dir`: the keys folder `path` belongs to (what `uvm keys --dir` takes), for the hint. */
async function readKey(path: string, dir: string): Promise<string> {
  let text: string
  try {
    text = (await readFile(path, 'utf8')).trim()
  } catch {
    throw new Error(`missing key file ${path} (run \`uvm keys --dir ${dir}\`)`)
  }
  if (!Z85_KEY.test(text)) throw new Error(`${path} does not hold a Z85 CURVE key (40 characters)`)
  return text
}

async function writeSecret(path: string, key: string): Promise<void> {
  await writeFile(path, key + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
}
