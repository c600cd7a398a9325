// A JS hyperdht server that echoes what each connection sends:
//   node dht-echo.js BOOTSTRAP [SEED_HEX]
// BOOTSTRAP is host:port[,..]. Prints "KEY <public key hex>" once it
// listens, "CONNECTION <remote key hex>" per connection. Bound to loopback
// and told it is not firewalled, as the interop peers are (common.js).
'use strict'
const DHT = require('hyperdht')
const { log } = require('./common')

async function main () {
  const bootstrap = String(process.argv[2] || '').split(',').filter(Boolean)
  const seed = process.argv[3] ? Buffer.from(process.argv[3], 'hex') : null
  const dht = new DHT({ bootstrap, host: '127.0.0.1', firewalled: false })
  const keyPair = DHT.keyPair(seed)
  const server = dht.createServer((socket) => {
    log('CONNECTION', socket.remotePublicKey.toString('hex'))
    socket.on('data', (data) => socket.write(data))
    socket.on('error', (e) => log('CONN-ERROR', e.message))
  })
  await server.listen(keyPair)
  log('KEY', keyPair.publicKey.toString('hex'))
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
