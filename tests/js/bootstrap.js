// A JS DHT bootstrap node on loopback: node bootstrap.js PORT
'use strict'
const DHT = require('hyperdht')
const { log } = require('./common')

async function main () {
  const port = Number(process.argv[2])
  const node = DHT.bootstrapper(port, '127.0.0.1')
  await node.ready()
  log('BOOTSTRAP', `127.0.0.1:${node.address().port}`)
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
