// A JS client of a log's topic, with nothing else around it:
//   node topic-dial.js KEY --bootstrap HOST:PORT[,..]
// Looks the log's topic (its discovery key) up until a peer announces it
// (once a second, at most 30 s), prints "PEER <key>", connects to that
// peer with hyperdht, and prints "OPEN" and exits 0, or
// "REFUSED <code> because <reasons>" and exits 1. The DHT binds where
// HYCHAT_JS_HOST says (127.0.0.1 by default), as the other JS peers' does.
//
// hyperdht 6.34 fails a punch it refuses with HOLEPUNCH_ABORTED: its
// abort() destroys the puncher, whose abort handler fails the connection
// before the error abort() was given. The reasons are the refusals
// connect.js made on the way (caught as it makes them), "-" for none.
'use strict'
const errors = require('hyperdht/lib/errors')
const reasons = []
for (const code of ['HOLEPUNCH_DOUBLE_RANDOMIZED_NATS', 'HOLEPUNCH_PROBE_TIMEOUT']) {
  const make = errors[code]
  errors[code] = (...args) => {
    reasons.push(code)
    return make.apply(errors, args)
  }
}
// After the patch: connect.js takes the error makers when it is loaded.
const DHT = require('hyperdht')
const crypto = require('hypercore-crypto')
const { parseArgs, log } = require('./common')

async function findPeer (dht, topic) {
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    for await (const answer of dht.lookup(topic)) {
      if (answer.peers.length > 0) return answer.peers[0]
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  return null
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const topic = crypto.discoveryKey(Buffer.from(args._[0], 'hex'))
  const bootstrap = String(args.bootstrap || '').split(',').filter(Boolean)
  const dht = new DHT({ bootstrap, host: process.env.HYCHAT_JS_HOST || '127.0.0.1' })
  await dht.ready()
  const peer = await findPeer(dht, topic)
  if (!peer) {
    log('FATAL', 'no peer announced the topic within 30 s')
    process.exit(1)
  }
  log('PEER', peer.publicKey.toString('hex'))
  const socket = dht.connect(peer.publicKey, { relayAddresses: peer.relayAddresses })
  socket.on('error', async (e) => {
    log('REFUSED', e.code || e.message, 'because', reasons.join(',') || '-')
    await dht.destroy({ force: true })
    process.exit(1)
  })
  socket.on('open', async () => {
    log('OPEN')
    socket.destroy()
    await dht.destroy({ force: true })
    process.exit(0)
  })
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
