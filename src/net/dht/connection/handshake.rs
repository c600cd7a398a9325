//! The Noise handshake of a DHT connection, as JS hyperdht runs it
//! (`lib/noise-wrap.js`): Noise IK over Ed25519 keys with the prologue
//! `NS_PEER_HANDSHAKE`, each side's `NoisePayload` carried inside, and the
//! holepunch secret derived from the handshake hash once both messages are
//! through. The keys that come out (`Split`) start the connection's secret
//! stream on its UDX stream (`transport::session`). The server reads the
//! client's payload before it writes its own answer, as JS does.
//!
//! Untrusted input is the other side's Noise message and payload; a bad
//! one is an error, never a panic.

use crate::net::dht::encoding::crypto::{holepunch_secret, NS_PEER_HANDSHAKE};
use crate::net::dht::encoding::messages::{NoisePayload, ERROR_NONE};
use crate::net::transport::secret::noise::{IkInitiator, IkResponder, KeyPair, NoiseError, Split};

#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("the Noise handshake failed: {0}")]
    Noise(#[from] NoiseError),
    #[error("the other side sent no handshake payload")]
    NoPayload,
    #[error("the other side's handshake payload does not decode")]
    BadPayload,
    #[error("the other side speaks another protocol version")]
    VersionMismatch,
    #[error("the other side refused the connection (error {0})")]
    Refused(u64),
    #[error("the other side offered no UDX stream")]
    NoUdx,
}

/// A finished handshake: the keys of the secret stream, what the other
/// side said, and the key of the holepunch payload box.
pub(crate) struct Handshaken {
    pub(crate) split: Split,
    /// Our own static key (the one the other side now knows us by).
    pub(crate) local_public_key: [u8; 32],
    pub(crate) remote: NoisePayload,
    pub(crate) holepunch_secret: [u8; 32],
    pub(crate) remote_public_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Handshaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshaken")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// The client's half: made with our key pair (the node's: the one it
/// listens under, as JS clients present theirs) and the server's public
/// key, it yields the first Noise message and finishes with the answer.
pub(crate) struct ClientHandshake {
    noise: IkInitiator,
    local_public_key: [u8; 32],
    first: Vec<u8>,
}

impl ClientHandshake {
    pub(crate) fn start(
        local: &KeyPair,
        server_public_key: &[u8; 32],
        ours: &NoisePayload,
    ) -> Result<Self, HandshakeError> {
        let mut noise = IkInitiator::new(local, server_public_key, &NS_PEER_HANDSHAKE)?;
        let first = noise.write_first(&ours.encode())?;
        Ok(ClientHandshake {
            noise,
            local_public_key: local.public,
            first,
        })
    }

    /// The first Noise message, the same for every relay it goes through.
    pub(crate) fn first_message(&self) -> &[u8] {
        &self.first
    }

    /// Reads the server's answer. Consumes the handshake: a failed answer
    /// needs a fresh start.
    pub(crate) fn finish(self, answer: &[u8]) -> Result<Handshaken, HandshakeError> {
        let (payload, split) = self.noise.read_answer(answer)?;
        let remote = decode_payload(&payload)?;
        check(&remote)?;
        Ok(Handshaken {
            holepunch_secret: holepunch_secret(&split.hash),
            remote_public_key: Some(split.remote_public),
            local_public_key: self.local_public_key,
            split,
            remote,
        })
    }
}

/// The server's half of one handshake: the answer to send back, and the
/// finished handshake unless the client's payload was refused (the answer
/// then carries the refusal).
pub(crate) struct Responded {
    pub(crate) answer: Vec<u8>,
    pub(crate) accepted: Result<Handshaken, HandshakeError>,
}

/// The server's half: reads the client's first message and answers it with
/// the payload `reply` builds from the client's (whatever the client said,
/// the payload is made: a refusal carries its error code). Fails only when
/// the first message itself is not a Noise message for our key.
pub(crate) fn respond(
    local: &KeyPair,
    first: &[u8],
    reply: impl FnOnce(Result<&NoisePayload, &HandshakeError>) -> NoisePayload,
) -> Result<Responded, HandshakeError> {
    let mut noise = IkResponder::new(local, &NS_PEER_HANDSHAKE);
    let payload = noise.read_first(first)?;
    let remote = decode_payload(&payload);
    let verdict = remote
        .as_ref()
        .map_err(|_| HandshakeError::BadPayload)
        .and_then(check);
    let ours = match (&remote, &verdict) {
        (Ok(remote), Ok(())) => reply(Ok(remote)),
        (_, Err(e)) => reply(Err(e)),
        (Err(e), Ok(())) => reply(Err(e)),
    };
    let (answer, split) = noise.write_answer(&ours.encode())?;
    let accepted = match (remote, verdict) {
        (Ok(remote), Ok(())) => Ok(Handshaken {
            holepunch_secret: holepunch_secret(&split.hash),
            remote_public_key: Some(split.remote_public),
            local_public_key: local.public,
            split,
            remote,
        }),
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
    };
    Ok(Responded { answer, accepted })
}

fn decode_payload(bytes: &[u8]) -> Result<NoisePayload, HandshakeError> {
    if bytes.is_empty() {
        return Err(HandshakeError::NoPayload);
    }
    NoisePayload::decode(bytes).map_err(|_| HandshakeError::BadPayload)
}

/// What JS checks of the other side's payload before going on.
fn check(payload: &NoisePayload) -> Result<(), HandshakeError> {
    if payload.version_mismatch() {
        return Err(HandshakeError::VersionMismatch);
    }
    if payload.error != ERROR_NONE {
        return Err(HandshakeError::Refused(payload.error));
    }
    if payload.udx.is_none() {
        return Err(HandshakeError::NoUdx);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::messages::{
        SecretStreamInfo, UdxInfo, ERROR_ABORTED, FIREWALL_OPEN,
    };
    use ed25519_dalek::SigningKey;

    fn server_keys() -> (KeyPair, [u8; 32]) {
        let keys = KeyPair::from_seed([7u8; 32]);
        let public = keys.public;
        (keys, public)
    }

    fn client_keys() -> KeyPair {
        KeyPair::from_seed([9u8; 32])
    }

    fn payload(udx_id: u32) -> NoisePayload {
        NoisePayload {
            udx: Some(UdxInfo::new(udx_id, false)),
            secret_stream: Some(SecretStreamInfo::default()),
            ..NoisePayload::default()
        }
    }

    #[test]
    fn both_halves_agree_on_the_payloads_and_the_holepunch_secret() {
        let (secret, public) = server_keys();
        let client = ClientHandshake::start(&client_keys(), &public, &payload(11)).unwrap();
        let responded = respond(&secret, client.first_message(), |theirs| {
            assert_eq!(theirs.unwrap().udx.as_ref().unwrap().id, 11);
            NoisePayload {
                firewall: FIREWALL_OPEN,
                ..payload(22)
            }
        })
        .unwrap();
        let server = responded.accepted.unwrap();
        let client = client.finish(&responded.answer).unwrap();
        assert_eq!(client.remote.udx.as_ref().unwrap().id, 22);
        assert_eq!(client.remote.firewall, FIREWALL_OPEN);
        assert_eq!(client.holepunch_secret, server.holepunch_secret);
        assert_eq!(client.remote_public_key, Some(public));
        // The server knows the client by the key it dialed with.
        assert_eq!(server.remote_public_key, Some(client_keys().public));
        assert_eq!(client.split.tx, server.split.rx);
        assert_eq!(client.split.hash, server.split.hash);
    }

    #[test]
    fn a_refusal_reaches_the_client_as_an_error() {
        let (secret, public) = server_keys();
        let client = ClientHandshake::start(&client_keys(), &public, &payload(1)).unwrap();
        let responded = respond(&secret, client.first_message(), |_| NoisePayload {
            error: ERROR_ABORTED,
            ..payload(2)
        })
        .unwrap();
        assert!(matches!(
            client.finish(&responded.answer),
            Err(HandshakeError::Refused(ERROR_ABORTED))
        ));
    }

    #[test]
    fn garbage_is_an_error_on_both_sides() {
        let (secret, public) = server_keys();
        let client = ClientHandshake::start(&client_keys(), &public, &payload(1)).unwrap();
        assert!(client.finish(&[0u8; 80]).is_err());
        assert!(respond(&secret, &[1, 2, 3], |_| payload(2)).is_err());
        assert!(respond(&secret, &[], |_| payload(2)).is_err());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        let wrong = ClientHandshake::start(&client_keys(), &other, &payload(1)).unwrap();
        assert!(respond(&secret, wrong.first_message(), |_| payload(2)).is_err());
        // A client without a UDX stream is answered, with a refusal.
        let no_udx =
            ClientHandshake::start(&client_keys(), &public, &NoisePayload::default()).unwrap();
        let responded = respond(&secret, no_udx.first_message(), |theirs| {
            assert!(matches!(theirs, Err(HandshakeError::NoUdx)));
            NoisePayload {
                error: ERROR_ABORTED,
                ..payload(2)
            }
        })
        .unwrap();
        assert!(responded.accepted.is_err());
        assert!(matches!(
            no_udx.finish(&responded.answer),
            Err(HandshakeError::Refused(ERROR_ABORTED))
        ));
    }
}
