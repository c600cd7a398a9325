// JS peers around a blind relay (hyperdht's relayThrough, the blind-relay
// module), for the relay interop tests:
//   node blind-relay.js relay BOOTSTRAP
//     a JS blind relay: prints "RELAY <key hex>" once it listens, "PAIRED"
//     for each pair it links, and its stats as "STATS <json>" when stdin
//     closes.
//   node blind-relay.js echo BOOTSTRAP [RELAY_KEY|-] [firewalled]
//     a JS server that echoes; with RELAY_KEY it names that relay in its
//     handshake (so its clients meet it there) and never punches; a
//     firewalled one never punches either, so only a relay reaches it. Prints
//     "KEY <key hex>", then "CONNECTION <remote key hex>" per connection.
//   node blind-relay.js dial BOOTSTRAP KEY RELAY_KEY
//     a JS client that believes it is firewalled, asks the server with KEY
//     to meet it at RELAY_KEY and does not punch; sends "hello through a relay", prints "ECHO <text>"
//     and "RELAYING <json of dht.stats.relaying>", exits 0; "FATAL <why>"
//     and exit 1 when it cannot connect.
// BOOTSTRAP is host:port[,..]. Every DHT binds to loopback.
'use strict'
const DHT = require('hyperdht')
const BlindRelay = require('blind-relay')
const { log } = require('./common')

// A DHT on loopback; a firewalled one believes it is behind a NAT, so
// nobody connects to it directly.
function dhtOn (bootstrap, firewalled = false) {
  return firewalled
    ? new DHT({ bootstrap, host: '127.0.0.1', firewalled: true, quickFirewall: false })
    : new DHT({ bootstrap, host: '127.0.0.1', firewalled: false })
}

async function relay (bootstrap) {
  const dht = dhtOn(bootstrap)
  const server = new BlindRelay.Server({
    createStream: (opts) => dht.createRawStream({ ...opts, framed: true })
  })
  const keyPair = DHT.keyPair()
  const listening = dht.createServer({ shareLocalAddress: false }, (socket) => {
    socket.on('error', () => {})
    const session = server.accept(socket, { id: socket.remotePublicKey })
    session.on('pair', () => log('PAIRED'))
    session.on('error', (e) => log('SESSION-ERROR', e.message))
  })
  await listening.listen(keyPair)
  log('RELAY', keyPair.publicKey.toString('hex'))
  process.stdin.resume()
  process.stdin.on('end', () => {
    log('STATS', JSON.stringify(server.stats.pairings))
    process.exit(0)
  })
}

async function echo (bootstrap, relayKey, firewalled) {
  const dht = dhtOn(bootstrap, firewalled)
  // Named relay or firewalled: it never punches, so a relay is the way in.
  const opts = relayKey
    ? { relayThrough: Buffer.from(relayKey, 'hex'), holepunch: false, shareLocalAddress: false }
    : firewalled ? { holepunch: false, shareLocalAddress: false } : {}
  const server = dht.createServer(opts, (socket) => {
    log('CONNECTION', socket.remotePublicKey.toString('hex'))
    socket.on('data', (data) => socket.write(data))
    socket.on('error', (e) => log('CONN-ERROR', e.message))
  })
  const keyPair = DHT.keyPair()
  await server.listen(keyPair)
  log('KEY', keyPair.publicKey.toString('hex'))
  process.stdin.resume()
  process.stdin.on('end', () => {
    log('RELAYING', JSON.stringify(dht.stats.relaying))
    process.exit(0)
  })
}

async function dial (bootstrap, key, relayKey) {
  const dht = dhtOn(bootstrap, true)
  await dht.ready()
  const socket = dht.connect(Buffer.from(key, 'hex'), {
    relayThrough: Buffer.from(relayKey, 'hex'),
    holepunch: () => false,
    localConnection: false
  })
  socket.on('error', (e) => { log('FATAL', e.code || e.message); process.exit(1) })
  socket.on('open', () => socket.write(Buffer.from('hello through a relay')))
  socket.on('data', async (data) => {
    log('ECHO', data.toString())
    socket.destroy()
    await dht.destroy()
    process.exit(0)
  })
}

async function main () {
  const [mode, list, a, b] = process.argv.slice(2)
  const bootstrap = String(list || '').split(',').filter(Boolean)
  if (mode === 'relay') return relay(bootstrap)
  if (mode === 'echo') return echo(bootstrap, a === '-' ? null : a, b === 'firewalled')
  if (mode === 'dial') return dial(bootstrap, a, b)
  throw new Error('mode is relay, echo or dial')
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
