// A JS hyperdht client: node dht-dial.js BOOTSTRAP KEY_HEX [firewalled]
// Connects to the server with KEY over the DHT of BOOTSTRAP (host:port,..),
// sends "hello from js", prints "ECHO <text>" when the server echoes it,
// then "PUNCHES <stats>" and exits 0; prints "FATAL <error>" and exits 1
// when it cannot connect. Bound to loopback, as the other JS peers are;
// with `firewalled` it believes it is, so the server must be punched to.
'use strict'
const DHT = require('hyperdht')
const { log } = require('./common')

async function main () {
  const bootstrap = String(process.argv[2] || '').split(',').filter(Boolean)
  const key = Buffer.from(process.argv[3], 'hex')
  const firewalled = process.argv[4] === 'firewalled'
  const dht = firewalled
    ? new DHT({ bootstrap, host: '127.0.0.1', firewalled: true, quickFirewall: false })
    : new DHT({ bootstrap, host: '127.0.0.1', firewalled: false })
  await dht.ready()
  const socket = dht.connect(key, { localConnection: false })
  socket.on('error', (e) => { log('FATAL', e.code || e.message); process.exit(1) })
  socket.on('open', () => socket.write(Buffer.from('hello from js')))
  socket.on('data', async (data) => {
    log('ECHO', data.toString())
    log('PUNCHES', JSON.stringify(dht.stats.punches))
    socket.destroy()
    await dht.destroy()
    process.exit(0)
  })
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
