// What a DHT keeps for its clients, checked from JS clients only:
//   node dht-records.js HOST:PORT [HOST:PORT ...]
// The addresses are the DHT's nodes (hychat bootstrap nodes in the tests);
// every one of them must be a node that stores records, since the clients
// made here are ephemeral (`ephemeral: true`: no id, never in a routing
// table, and they store nothing), so every answer comes from those nodes.
// Three clients (A, B, C) on 127.0.0.1 run the cases below in order, each
// through hyperdht's public API (announce, unannounce, lookup,
// immutablePut/Get, mutablePut/Get, query and request):
//   - the bump of an announced target, as lookups report it: it only grows,
//     a bump more than 60 s ahead of the node's clock is ignored, and it is
//     kept across an unannounce and a later announce with bump 0;
//   - immutable records: a value put by one client is got by another by its
//     hash; a hash never put gets nothing;
//   - mutable records: the newest seq and its signature are got by another
//     client; a lower seq is refused with SEQ_TOO_LOW (17) and a reused seq
//     with another value with SEQ_REUSED (16) by every node asked (seen by
//     putting the record with a query and request of our own, as mutablePut
//     does, so each node's answer is read); asking for a seq above the
//     stored one gets nothing.
// Prints one JSON line per case, {"case", "ok", "detail"}, then exits 0 when
// every case passed and 1 otherwise. Every case is bounded (CASE_LIMIT) and
// the whole run too (RUN_LIMIT); a case that runs out of time fails with a
// sentence saying so.
'use strict'
const path = require('path')
const DHT = require('hyperdht')
const m = require('hyperdht/lib/messages.js')
const { COMMANDS, ERROR } = require('hyperdht/lib/constants.js')
const Persistent = require('hyperdht/lib/persistent.js')

// hyperdht's own compact-encoding, the one its messages are built on.
const hyperdhtDir = path.dirname(require.resolve('hyperdht'))
const c = require(require.resolve('compact-encoding', { paths: [hyperdhtDir] }))

const CASE_LIMIT = 30_000
const RUN_LIMIT = 240_000
// How many nodes must hold (or refuse) a record: an announce or a put goes
// to the closest nodes that answered, and the tests' DHT has at least this
// many.
const MIN_NODES = 3
const DAY = 24 * 3600 * 1000

function print (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
}

// A case failed: `detail` says why.
class Failure extends Error {}

function check (condition, sentence) {
  if (!condition) throw new Failure(sentence)
}

function hex (buffer) {
  return buffer ? Buffer.from(buffer).toString('hex') : null
}

function addressOf (from) {
  return `${from.host}:${from.port}`
}

async function collect (stream) {
  const out = []
  for await (const data of stream) out.push(data)
  return out
}

// Every reply must come from one of the DHT's nodes: no client answers.
function fromTheDht (replies, nodes, what) {
  for (const reply of replies) {
    check(
      nodes.has(addressOf(reply.from)),
      `${what}: a reply came from ${addressOf(reply.from)}, which is not one of the DHT's nodes (${[...nodes].join(', ')})`
    )
  }
}

// Looks `target` up from `client` and returns the bumps of the replies that
// list `publicKey`, one per node, with a sentence describing every reply.
async function bumpsFor (client, target, publicKey, nodes) {
  const replies = await collect(client.lookup(target))
  fromTheDht(replies, nodes, 'lookup')
  const listing = replies.filter((r) => r.peers.some((p) => p.publicKey.equals(publicKey)))
  const seen = replies.map((r) => `${addressOf(r.from)}: ${r.peers.length} peer(s), bump ${r.bump}`)
  return { bumps: listing.map((r) => r.bump), seen: seen.join('; ') || 'no reply with records' }
}

// Announces `keyPair` on `target` with `bump` from `client`, looks the target
// up from `reader`, and checks that at least MIN_NODES nodes list the key and
// that every one of them reports `expected`.
async function announceAndExpect (client, reader, target, keyPair, bump, expected, nodes) {
  await client.announce(target, keyPair, [], { bump }).finished()
  const { bumps, seen } = await bumpsFor(reader, target, keyPair.publicKey, nodes)
  check(
    bumps.length >= MIN_NODES,
    `after announcing with bump ${bump}, only ${bumps.length} node(s) list the key (at least ${MIN_NODES} expected): ${seen}`
  )
  check(
    bumps.every((b) => b === expected),
    `after announcing with bump ${bump}, every node should report bump ${expected}: ${seen}`
  )
  return `${bumps.length} nodes report bump ${expected}`
}

// Puts a mutable record as mutablePut does (a MUTABLE_GET query for tokens,
// then MUTABLE_PUT to each closest node that answered), but keeps each
// node's answer: returns [{ from, error }] (error 0 when stored).
async function putMutableSeeingAnswers (client, keyPair, value, seq) {
  const target = DHT.hash(keyPair.publicKey)
  const signature = await Persistent.signMutable(seq, value, keyPair)
  const signed = c.encode(m.mutablePutRequest, { publicKey: keyPair.publicKey, seq, value, signature })
  const answers = []
  const query = client.query(
    { target, command: COMMANDS.MUTABLE_GET, value: c.encode(c.uint, 0) },
    {
      async commit (reply, dht) {
        const res = await dht.request(
          { token: reply.token, target, command: COMMANDS.MUTABLE_PUT, value: signed },
          reply.from
        )
        answers.push({ from: addressOf(reply.from), error: res.error })
        return res
      }
    }
  )
  await query.finished()
  return answers
}

// The nodes' own answers to a get (`command` with `value`) for `target`: a
// query of our own, without hyperdht's filtering, so a node that answers
// with nothing is told apart from one that refuses the command (an error
// reply, which a query leaves out). Returns [{ from, value }].
async function answersTo (client, target, command, value) {
  const replies = await collect(client.query({ target, command, value }))
  return replies.map((r) => ({ from: r.from, value: r.value }))
}

function expectEmptyAnswers (answers, nodes, what) {
  fromTheDht(answers, nodes, what)
  check(
    answers.length >= MIN_NODES,
    `${what}: only ${answers.length} node(s) answered without an error (at least ${MIN_NODES} expected)`
  )
  const holding = answers.filter((a) => a.value !== null)
  check(
    holding.length === 0,
    `${what}: ${holding.map((a) => addressOf(a.from)).join(', ')} answered with a value`
  )
  return `${answers.length} nodes answered with nothing`
}

function describeAnswers (answers) {
  return answers.map((a) => `${a.from}: ${a.error}`).join('; ') || 'no answers'
}

function expectAll (answers, code, what) {
  check(
    answers.length >= MIN_NODES,
    `${what}: only ${answers.length} node(s) answered the put (at least ${MIN_NODES} expected): ${describeAnswers(answers)}`
  )
  check(
    answers.every((a) => a.error === code),
    `${what}: every node should answer with error code ${code}: ${describeAnswers(answers)}`
  )
}

async function expectMutable (client, keyPair, seq, value, signature, nodes, what) {
  const got = await client.mutableGet(keyPair.publicKey)
  check(got !== null, `${what}: mutableGet found no record`)
  fromTheDht([got], nodes, 'mutableGet')
  check(
    got.seq === seq && Buffer.from(got.value).equals(value),
    `${what}: mutableGet should return seq ${seq} and ${JSON.stringify(value.toString())}, got seq ${got.seq} and ${JSON.stringify(Buffer.from(got.value).toString())}`
  )
  if (signature) {
    check(
      Buffer.from(got.signature).equals(signature),
      `${what}: mutableGet returned signature ${hex(got.signature)}, the put made ${hex(signature)}`
    )
  }
  return `mutableGet from ${addressOf(got.from)}: seq ${got.seq}, ${JSON.stringify(Buffer.from(got.value).toString())}`
}

function cases (a, b, cClient, nodes) {
  const topic = DHT.hash(Buffer.from(`hychat dht-records bump topic ${process.pid} ${Date.now()}`))
  const first = DHT.keyPair()
  const second = DHT.keyPair()
  const now = Date.now()
  const soon = now + 30_000
  const record = DHT.keyPair()
  const value0 = Buffer.from(`mutable value 0 of run ${process.pid}`)
  const value2 = Buffer.from(`mutable value 2 of run ${process.pid}`)
  const state = { put0: null, put2: null }

  return [
    ['bump 1 is reported', () => announceAndExpect(a, b, topic, first, 1, 1, nodes)],
    ['bump 2 replaces 1', () => announceAndExpect(a, b, topic, first, 2, 2, nodes)],
    ['bump 1 after 2 leaves 2 (monotonic)', () => announceAndExpect(a, b, topic, first, 1, 2, nodes)],
    ['bump 24 h ahead is ignored', () => announceAndExpect(a, b, topic, first, now + DAY, 2, nodes)],
    ['bump Date.now() is applied', () => announceAndExpect(a, b, topic, first, now, now, nodes)],
    ['bump 30 s ahead (within 60 s) is applied', () => announceAndExpect(a, b, topic, first, soon, soon, nodes)],
    ['bump kept across an unannounce and another key announced with bump 0', async () => {
      await a.unannounce(topic, first)
      const gone = await bumpsFor(b, topic, first.publicKey, nodes)
      check(gone.bumps.length === 0, `after the unannounce, ${gone.bumps.length} node(s) still list the key: ${gone.seen}`)
      return announceAndExpect(cClient, b, topic, second, 0, soon, nodes)
    }],
    ['bump kept when the first key announces again with bump 0', () => announceAndExpect(a, b, topic, first, 0, soon, nodes)],

    ['immutable put by one client, get by another', async () => {
      const value = Buffer.from(`immutable value of run ${process.pid} at ${Date.now()}`)
      const put = await a.immutablePut(value)
      check(put.hash.equals(DHT.hash(value)), `immutablePut's hash ${hex(put.hash)} is not the value's hash`)
      check(
        put.closestNodes.length >= MIN_NODES,
        `immutablePut's closestNodes has ${put.closestNodes.length} node(s), at least ${MIN_NODES} expected`
      )
      fromTheDht(put.closestNodes.map((from) => ({ from })), nodes, 'immutablePut closestNodes')
      const got = await b.immutableGet(put.hash)
      check(got !== null, 'immutableGet from another client found nothing')
      fromTheDht([got], nodes, 'immutableGet')
      check(
        Buffer.from(got.value).equals(value),
        `immutableGet returned ${JSON.stringify(Buffer.from(got.value).toString())}, not the value put`
      )
      return `put to ${put.closestNodes.length} nodes, got from ${addressOf(got.from)}`
    }],
    ['immutable get of a hash never put is null', async () => {
      const never = DHT.hash(Buffer.from(`never put ${process.pid} ${Date.now()}`))
      const got = await b.immutableGet(never)
      check(got === null, `immutableGet of a hash never put returned ${got && JSON.stringify(Buffer.from(got.value).toString())} from ${got && addressOf(got.from)}`)
      const answers = await answersTo(b, never, COMMANDS.IMMUTABLE_GET, null)
      return `null; ${expectEmptyAnswers(answers, nodes, 'IMMUTABLE_GET of a hash never put')}`
    }],

    ['mutable put seq 0, get by another client', async () => {
      state.put0 = await a.mutablePut(record, value0)
      check(state.put0.seq === 0, `mutablePut returned seq ${state.put0.seq}, not 0`)
      check(state.put0.signature.length === 64, `mutablePut's signature is ${state.put0.signature.length} bytes, not 64`)
      check(
        state.put0.closestNodes.length >= MIN_NODES,
        `mutablePut's closestNodes has ${state.put0.closestNodes.length} node(s), at least ${MIN_NODES} expected`
      )
      return expectMutable(b, record, 0, value0, state.put0.signature, nodes, 'after the put of seq 0')
    }],
    ['mutable put seq 2 replaces seq 0', async () => {
      state.put2 = await cClient.mutablePut(record, value2, { seq: 2 })
      check(state.put2.seq === 2, `mutablePut returned seq ${state.put2.seq}, not 2`)
      return expectMutable(b, record, 2, value2, state.put2.signature, nodes, 'after the put of seq 2')
    }],
    ['mutable put seq 1 after 2: SEQ_TOO_LOW from every node, seq 2 kept', async () => {
      const lower = Buffer.from(`mutable value 1 of run ${process.pid}`)
      // What the public API does when every node refuses: it still resolves
      // (each node's refusal is a reply, not a failed request).
      let resolved
      try {
        const put = await a.mutablePut(record, lower, { seq: 1 })
        resolved = `mutablePut resolved (seq ${put.seq})`
      } catch (e) {
        throw new Failure(`mutablePut of seq 1 rejected (${e.message}); hyperdht resolves it when nodes answer SEQ_TOO_LOW`)
      }
      const answers = await putMutableSeeingAnswers(a, record, lower, 1)
      expectAll(answers, ERROR.SEQ_TOO_LOW, 'a put of seq 1 after seq 2')
      const got = await expectMutable(b, record, 2, value2, state.put2 && state.put2.signature, nodes, 'after the refused put of seq 1')
      return `${resolved}; answers ${describeAnswers(answers)}; ${got}`
    }],
    ['mutable put reusing seq 2 with another value: SEQ_REUSED from every node', async () => {
      const other = Buffer.from(`another value for seq 2, run ${process.pid}`)
      const answers = await putMutableSeeingAnswers(cClient, record, other, 2)
      expectAll(answers, ERROR.SEQ_REUSED, 'a put reusing seq 2 with another value')
      const got = await expectMutable(b, record, 2, value2, state.put2 && state.put2.signature, nodes, 'after the refused reuse of seq 2')
      return `answers ${describeAnswers(answers)}; ${got}`
    }],
    ['mutable put of seq 2 again with the same value is accepted', async () => {
      const answers = await putMutableSeeingAnswers(a, record, value2, 2)
      expectAll(answers, 0, 'a put of seq 2 again with the same value')
      return `answers ${describeAnswers(answers)}`
    }],
    ['mutable get asking for seq 3 is null', async () => {
      const got = await b.mutableGet(record.publicKey, { seq: 3 })
      check(got === null, `mutableGet with { seq: 3 } returned seq ${got && got.seq} from ${got && addressOf(got.from)}`)
      // The nodes hold seq 2, so each answers a get from seq 3 with nothing.
      const answers = await answersTo(b, DHT.hash(record.publicKey), COMMANDS.MUTABLE_GET, c.encode(c.uint, 3))
      return `null; ${expectEmptyAnswers(answers, nodes, 'MUTABLE_GET from seq 3 of a record at seq 2')}`
    }]
  ]
}

// An error's message and where it was thrown, on one line.
function briefly (e) {
  const frame = e && e.stack ? String(e.stack).split('\n').find((l) => l.trim().startsWith('at ')) : null
  return `${e && e.message ? e.message : e}${frame ? ` (${frame.trim()})` : ''}`
}

// Runs `body`, at most CASE_LIMIT; resolves to { ok, detail }.
async function bounded (name, body) {
  let timer = null
  const timeout = new Promise((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `did not finish within ${CASE_LIMIT / 1000} s` }),
      CASE_LIMIT
    )
  })
  const run = (async () => {
    try {
      return { ok: true, detail: String(await body()) }
    } catch (e) {
      const detail = e instanceof Failure ? e.message : `threw: ${briefly(e)}`
      return { ok: false, detail }
    }
  })()
  try {
    return await Promise.race([run, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function main () {
  const addresses = process.argv.slice(2).flatMap((a) => a.split(',')).filter(Boolean)
  if (addresses.length === 0) {
    throw new Error('usage: dht-records.js HOST:PORT [HOST:PORT ...] (the DHT\'s nodes)')
  }
  const nodes = new Set(addresses)
  const guard = setTimeout(() => {
    print({ case: 'whole run', ok: false, detail: `the run did not finish within ${RUN_LIMIT / 1000} s` })
    process.exit(1)
  }, RUN_LIMIT)

  const clients = []
  const client = () => {
    const dht = new DHT({ ephemeral: true, bootstrap: addresses, host: '127.0.0.1' })
    clients.push(dht)
    return dht
  }
  const a = client()
  const b = client()
  const cClient = client()
  const ready = await bounded('clients ready', async () => {
    await Promise.all(clients.map((d) => d.ready()))
    for (const d of clients) {
      check(d.ephemeral && d.id === null, 'a client node is not ephemeral: it would store records itself')
    }
    return `${clients.length} ephemeral clients bootstrapped from ${addresses.length} nodes`
  })
  print({ case: 'clients ready', ...ready })

  let failed = ready.ok ? 0 : 1
  if (ready.ok) {
    for (const [name, body] of cases(a, b, cClient, nodes)) {
      const result = await bounded(name, body)
      if (!result.ok) failed++
      print({ case: name, ...result })
    }
  }

  clearTimeout(guard)
  await Promise.race([
    Promise.all(clients.map((d) => d.destroy())),
    new Promise((resolve) => setTimeout(resolve, 5000))
  ])
  process.exit(failed === 0 ? 0 : 1)
}

main().catch((e) => {
  print({ case: 'whole run', ok: false, detail: `threw: ${briefly(e)}` })
  process.exit(1)
})
