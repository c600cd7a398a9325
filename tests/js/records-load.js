// Fills one DHT node with records, for the records bench:
//   node records-load.js HOST:PORT COUNT
// Half the records are immutable (a 100-byte value each), half mutable (a
// 100-byte value signed by a key pair of its own). Each is put straight to
// the node, with a token the node gave for this host (fetched again when the
// node no longer takes it). Prints `PROGRESS N` every 1,000 records and at
// the end `DONE stored=S refused=R ms=T`, then asks the node for every
// 99th record (immutable and mutable in turn) and prints `FOUND F of N`.
// Stops putting after 5 minutes whatever is left.
'use strict'
const path = require('path')
const DHT = require('hyperdht')
const { COMMANDS } = require('hyperdht/lib/constants.js')
const Persistent = require('hyperdht/lib/persistent.js')
const m = require('hyperdht/lib/messages.js')

const hyperdhtDir = path.dirname(require.resolve('hyperdht'))
const fromHyperdht = (name) => require(require.resolve(name, { paths: [hyperdhtDir] }))
const c = fromHyperdht('compact-encoding')
const crypto = fromHyperdht('hypercore-crypto')

const CONCURRENCY = 32
const BOUND_MS = 5 * 60 * 1000

async function main () {
  const [host, portText] = String(process.argv[2] || '').split(':')
  const port = Number(portText)
  const count = Number(process.argv[3])
  if (!host || !port || !(count > 0)) throw new Error('usage: records-load.js HOST:PORT COUNT')
  const to = { host, port }
  const dht = new DHT({ ephemeral: true, bootstrap: [to], host: '127.0.0.1' })
  await dht.ready()

  let token = null
  async function freshToken () {
    const reply = await dht.request({ target: Buffer.alloc(32), command: COMMANDS.IMMUTABLE_GET }, to)
    token = reply.token
  }

  function record (i) {
    const value = Buffer.alloc(100, i % 251)
    value.writeUInt32BE(i, 0)
    if (i % 2 === 0) return { target: DHT.hash(value), command: COMMANDS.IMMUTABLE_PUT, value }
    const seed = Buffer.alloc(32)
    seed.writeUInt32BE(i, 0)
    const keyPair = crypto.keyPair(seed)
    const signature = Persistent.signMutable(0, value, keyPair)
    return {
      target: DHT.hash(keyPair.publicKey),
      command: COMMANDS.MUTABLE_PUT,
      value: c.encode(m.mutablePutRequest, { publicKey: keyPair.publicKey, seq: 0, value, signature })
    }
  }

  const started = Date.now()
  let next = 0
  let stored = 0
  let refused = 0
  await freshToken()
  async function worker () {
    while (next < count && Date.now() - started < BOUND_MS) {
      const i = next++
      const put = record(i)
      let ok = false
      for (let attempt = 0; attempt < 2 && !ok; attempt++) {
        try {
          await dht.request({ token, ...put }, to)
          ok = true
        } catch (e) {
          await freshToken().catch(() => {})
        }
      }
      if (ok) stored++
      else refused++
      if ((stored + refused) % 1000 === 0) console.log(`PROGRESS ${stored + refused}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  console.log(`DONE stored=${stored} refused=${refused} ms=${Date.now() - started}`)
  let found = 0
  let asked = 0
  for (let i = 0; i < next; i += 99) {
    const put = record(i)
    const get = put.command === COMMANDS.IMMUTABLE_PUT
      ? { target: put.target, command: COMMANDS.IMMUTABLE_GET }
      : { target: put.target, command: COMMANDS.MUTABLE_GET, value: c.encode(c.uint, 0) }
    asked++
    const reply = await dht.request(get, to).catch(() => null)
    if (reply && reply.value) found++
  }
  console.log(`FOUND ${found} of ${asked}`)
  await dht.destroy()
}

main().catch((e) => { console.log('FATAL ' + (e.stack || e.message)); process.exit(1) })
