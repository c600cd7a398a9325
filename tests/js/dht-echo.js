// A JS hyperdht server that echoes what each connection sends:
//   node dht-echo.js BOOTSTRAP [firewalled]
// BOOTSTRAP is host:port[,..]. Prints "KEY <public key hex>" once it
// listens, "CONNECTION <remote key hex>" per connection, and its punch
// statistics when stdin closes. Bound to loopback and told it is not
// firewalled, as the interop peers are (common.js); with `firewalled` it
// believes it is, so a client must holepunch to reach it.
'use strict'
const DHT = require('hyperdht')
const { log } = require('./common')

async function main () {
  const bootstrap = String(process.argv[2] || '').split(',').filter(Boolean)
  const firewalled = process.argv[3] === 'firewalled'
  const dht = firewalled
    ? new DHT({ bootstrap, host: '127.0.0.1', firewalled: true, quickFirewall: false })
    : new DHT({ bootstrap, host: '127.0.0.1', firewalled: false })
  const keyPair = DHT.keyPair()
  const server = dht.createServer((socket) => {
    log('CONNECTION', socket.remotePublicKey.toString('hex'))
    socket.on('data', (data) => socket.write(data))
    socket.on('error', (e) => log('CONN-ERROR', e.message))
  })
  await server.listen(keyPair)
  log('KEY', keyPair.publicKey.toString('hex'))
  process.stdin.resume()
  process.stdin.on('end', () => {
    log('PUNCHES', JSON.stringify(dht.stats.punches))
    process.exit(0)
  })
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
