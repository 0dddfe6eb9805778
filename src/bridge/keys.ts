import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as zmq from 'zeromq'

/**
 * A keys folder (Z85 text files):
 *   server.key_secret, server.key      the server's keypair
 *   clients/<name>.key                 public keys of admitted clients
 *   clients/<name>.key_secret          a client's secret (hand it to that client only)
 */
export interface ServerKeys {
  publicKey: string
  secretKey: string
  /** Z85 public keys the ZAP handler admits. */
  allowedClients: string[]
}

export interface ClientKeys {
  publicKey: string
  secretKey: string
  serverPublicKey: string
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

export async function makeKeys(dir: string, clientNames: string[] = ['client']): Promise<{ created: string[] }> {
  const created: string[] = []
  await mkdir(join(dir, 'clients'), { recursive: true })
  if (!existsSync(join(dir, 'server.key_secret'))) {
    const kp = zmq.curveKeyPair()
    await writeSecret(join(dir, 'server.key_secret'), kp.secretKey)
    await writeFile(join(dir, 'server.key'), kp.publicKey + '\n')
    created.push('server.key', 'server.key_secret')
  }
  for (const name of clientNames) {
    if (!/^[\w.-]{1,64}$/.test(name)) throw new Error(`client name "${name}": use letters, digits, '.', '_' or '-'`)
    if (existsSync(join(dir, 'clients', `${name}.key`))) continue
    const kp = zmq.curveKeyPair()
    await writeFile(join(dir, 'clients', `${name}.key`), kp.publicKey + '\n')
    await writeSecret(join(dir, 'clients', `${name}.key_secret`), kp.secretKey)
    created.push(`clients/${name}.key`, `clients/${name}.key_secret`)
  }
  return { created }
}

export async function loadServerKeys(dir: string): Promise<ServerKeys> {
  const secretKey = await readKey(join(dir, 'server.key_secret'))
  const publicKey = await readKey(join(dir, 'server.key'))
  const allowedClients: string[] = []
  let files: string[] = []
  try { files = await readdir(join(dir, 'clients')) } catch { /* no clients folder: nobody admitted */ }
  for (const f of files.sort()) if (f.endsWith('.key')) allowedClients.push(await readKey(join(dir, 'clients', f)))
  return { publicKey, secretKey, allowedClients }
}

export async function loadClientKeys(dir: string, name = 'client'): Promise<ClientKeys> {
  return {
    publicKey: await readKey(join(dir, 'clients', `${name}.key`)),
    secretKey: await readKey(join(dir, 'clients', `${name}.key_secret`)),
    serverPublicKey: await readKey(join(dir, 'server.key')),
  }
}

async function readKey(path: string): Promise<string> {
  let text: string
  try {
    text = (await readFile(path, 'utf8')).trim()
  } catch {
    throw new Error(`missing key file ${path} (run \`uvm keys --dir ${join(path, '..')}\`)`)
  }
  if (!Z85_KEY.test(text)) throw new Error(`${path} does not hold a Z85 CURVE key (40 characters)`)
  return text
}

async function writeSecret(path: string, key: string): Promise<void> {
  await writeFile(path, key + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
}
