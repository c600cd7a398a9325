// The reference figures of benches/storage.rs: JS hypercore 10 appending
// chat-message blocks to a new log in a temp directory, in batches and one
// at a time (each append awaited before the next). Prints one JSON object:
//   {"blocks":N,"batch":B,"batched_s":S,"single_s":S}
//   node append-bench.js [--blocks N] [--batch B]
// hypercore 10 writes with random-access-file, which never calls fsync: an
// append is acknowledged once the operating system has the bytes, not once
// they are on disk.
'use strict'
const fs = require('fs')
const os = require('os')
const path = require('path')
const Hypercore = require('hypercore')
const { parseArgs } = require('./common')

function blocks (count, label) {
  const out = []
  for (let i = 0; i < count; i++) {
    const block = { type: 'chat-message', nickname: 'bench', text: `${label} ${i}`, timestamp: new Date().toISOString() }
    out.push(Buffer.from(JSON.stringify(block)))
  }
  return out
}

async function timed (name, write) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hychat-append-bench-${name}-`))
  try {
    const core = new Hypercore(dir)
    await core.ready()
    const started = process.hrtime.bigint()
    await write(core)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    await core.close()
    return seconds
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const count = Number(args.blocks || 10000)
  const batch = Number(args.batch || 1000)
  const batched = await timed('batched', async (core) => {
    const all = blocks(count, 'batched')
    for (let i = 0; i < all.length; i += batch) await core.append(all.slice(i, i + batch))
  })
  const single = await timed('single', async (core) => {
    for (const block of blocks(count, 'single')) await core.append(block)
  })
  console.log(JSON.stringify({ blocks: count, batch, batched_s: batched, single_s: single }))
}

main().catch((e) => { console.error(e.stack || e.message); process.exit(1) })
