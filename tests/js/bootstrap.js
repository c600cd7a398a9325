// A JS DHT bootstrap node: node bootstrap.js PORT [HOST [BOOTSTRAP]]
// HOST defaults to 127.0.0.1; BOOTSTRAP (host:port[,..]) joins the node to
// an existing DHT, so several nodes form one network (the network lab).
'use strict'
const DHT = require('hyperdht')
const { log } = require('./common')

async function main () {
  const port = Number(process.argv[2])
  const host = process.argv[3] || '127.0.0.1'
  const bootstrap = String(process.argv[4] || '').split(',').filter(Boolean)
  const node = DHT.bootstrapper(port, host, { bootstrap })
  await node.ready()
  log('BOOTSTRAP', `${host}:${node.address().port}`)
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
