// Reference encodings for hychat's DHT messages and crypto, from the
// installed hyperdht: reads a JSON array of cases on stdin and prints a JSON
// array of results, one per case, in order.
//   echo '[{"op":"encode","type":"handshake","value":{...},"rust":"0102"}]' |
//     node dht-vectors.js
// In values, a string "hex:..." is a buffer and {host, port} an address.
// Ops:
//   encode {type, value, rust}: js = hex(encode(value)); jsOfRust =
//     hex(encode(decode(rust))), i.e. the JS reading of hychat's bytes.
'use strict'
const path = require('path')

// hyperdht's own compact-encoding, the one its messages are built on.
const hyperdhtDir = path.dirname(require.resolve('hyperdht'))
const c = require(require.resolve('compact-encoding', { paths: [hyperdhtDir] }))
const m = require('hyperdht/lib/messages.js')

const TYPES = [
  'handshake',
  'holepunch',
  'holepunchPayload',
  'noisePayload',
  'peer',
  'lookupRawReply',
  'announce'
]

function fromJson (v) {
  if (typeof v === 'string' && v.startsWith('hex:')) return Buffer.from(v.slice(4), 'hex')
  if (Array.isArray(v)) return v.map(fromJson)
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) out[k] = fromJson(x)
    return out
  }
  return v
}

function hex (buf) {
  return Buffer.from(buf).toString('hex')
}

// lookupRawReply encodes raw peers but decodes them: re-encode each.
function forEncoding (type, decoded) {
  if (type !== 'lookupRawReply') return decoded
  return { ...decoded, peers: decoded.peers.map((p) => c.encode(m.peer, p)) }
}

function encodeCase (t) {
  if (!TYPES.includes(t.type)) throw new Error('unknown type ' + t.type)
  const enc = m[t.type]
  const js = hex(c.encode(enc, fromJson(t.value)))
  let jsOfRust = null
  if (typeof t.rust === 'string') {
    const decoded = c.decode(enc, Buffer.from(t.rust, 'hex'))
    jsOfRust = hex(c.encode(enc, forEncoding(t.type, decoded)))
  }
  return { js, jsOfRust }
}

const OPS = { encode: encodeCase }

function run (cases) {
  return cases.map((t) => {
    const op = OPS[t.op]
    if (!op) return { error: 'unknown op ' + t.op }
    try {
      return op(t)
    } catch (e) {
      return { error: e.message }
    }
  })
}

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(run(JSON.parse(input))) + '\n')
})
