// Reference encodings for hychat's DHT messages and crypto, from the
// installed hyperdht: reads a JSON array of cases on stdin and prints a JSON
// array of results, one per case, in order.
//   echo '[{"op":"encode","type":"handshake","value":{...},"rust":"0102"}]' |
//     node dht-vectors.js
// In values, a string "hex:..." is a buffer and {host, port} an address.
// Ops:
//   encode {type, value, rust}: js = hex(encode(value)); jsOfRust =
//     hex(encode(decode(rust))), i.e. the JS reading of hychat's bytes.
//   namespaces: hyperdht's NS constants {announce, unannounce,
//     peerHandshake, peerHolepunch}.
//   holepunchSecret {hash}: the secret noise-wrap derives from a handshake
//     hash.
//   token {secret, localSecret, host}: SecurePayload's token for host.
//   encrypt {secret, nonce, payload, rust}: js = nonce followed by
//     crypto_secretbox_easy of the encoded payload (SecurePayload draws its
//     nonce at random; this fixes it); jsOfRust = the payload SecurePayload
//     decrypts from the rust box, re-encoded (null if refused).
//   nodeId {address}: dht-rpc's node id of an address.
//   sign {kind, seed, target, id, token, ann}: {publicKey, signature} of
//     hyperdht's signAnnounce (or signUnannounce) with the key pair of seed.
//   mutable {seed, seq, value, rust}: {publicKey, signature, put, record,
//     verifiesRust} — hyperdht's signMutable of seq and value, the
//     mutablePutRequest and mutableGetResponse it makes, and whether
//     hyperdht's verifyMutable takes the put hychat encoded (rust).
'use strict'
const path = require('path')

// hyperdht's own compact-encoding, the one its messages are built on.
const hyperdhtDir = path.dirname(require.resolve('hyperdht'))
const c = require(require.resolve('compact-encoding', { paths: [hyperdhtDir] }))
const m = require('hyperdht/lib/messages.js')
const { NS } = require('hyperdht/lib/constants.js')
const SecurePayload = require('hyperdht/lib/secure-payload.js')
const Persistent = require('hyperdht/lib/persistent.js')
const fromHyperdht = (name) => require(require.resolve(name, { paths: [hyperdhtDir] }))
const sodium = fromHyperdht('sodium-universal')
const crypto = fromHyperdht('hypercore-crypto')
const peerId = require(require.resolve('dht-rpc/lib/peer.js', { paths: [hyperdhtDir] })).id

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

function namespaces () {
  return {
    announce: hex(NS.ANNOUNCE),
    unannounce: hex(NS.UNANNOUNCE),
    peerHandshake: hex(NS.PEER_HANDSHAKE),
    peerHolepunch: hex(NS.PEER_HOLEPUNCH)
  }
}

function holepunchSecret (t) {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, NS.PEER_HOLEPUNCH, fromJson(t.hash))
  return { secret: hex(out) }
}

function token (t) {
  const box = new SecurePayload(fromJson(t.secret))
  box._localSecret = fromJson(t.localSecret)
  return { token: hex(box.token({ host: t.host, port: 0 })) }
}

function encrypt (t) {
  const secret = fromJson(t.secret)
  const nonce = fromJson(t.nonce)
  const plain = c.encode(m.holepunchPayload, fromJson(t.payload))
  const sealed = Buffer.alloc(plain.byteLength + 16)
  sodium.crypto_secretbox_easy(sealed, plain, nonce, secret)
  const opened = new SecurePayload(secret).decrypt(Buffer.from(t.rust, 'hex'))
  return {
    js: hex(Buffer.concat([nonce, sealed])),
    jsOfRust: opened === null ? null : hex(c.encode(m.holepunchPayload, opened))
  }
}

function nodeId (t) {
  return { id: hex(peerId(t.address.host, t.address.port)) }
}

function sign (t) {
  const keyPair = crypto.keyPair(fromJson(t.seed))
  const signer = t.kind === 'unannounce' ? Persistent.signUnannounce : Persistent.signAnnounce
  const ann = fromJson(t.ann)
  const signature = signer(fromJson(t.target), fromJson(t.token), fromJson(t.id), ann, keyPair)
  return { publicKey: hex(keyPair.publicKey), signature: hex(signature) }
}

function mutable (t) {
  const keyPair = crypto.keyPair(fromJson(t.seed))
  const value = fromJson(t.value)
  const signature = Persistent.signMutable(t.seq, value, keyPair)
  const put = c.encode(m.mutablePutRequest, { publicKey: keyPair.publicKey, seq: t.seq, value, signature })
  const record = c.encode(m.mutableGetResponse, { seq: t.seq, value, signature })
  const ours = c.decode(m.mutablePutRequest, Buffer.from(t.rust, 'hex'))
  return {
    publicKey: hex(keyPair.publicKey),
    signature: hex(signature),
    put: hex(put),
    record: hex(record),
    verifiesRust: Persistent.verifyMutable(ours.signature, ours.seq, ours.value, ours.publicKey)
  }
}

const OPS = { encode: encodeCase, namespaces, holepunchSecret, token, encrypt, nodeId, sign, mutable }

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
