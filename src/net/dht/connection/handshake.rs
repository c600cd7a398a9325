//! The Noise handshake of a DHT connection, as JS hyperdht runs it
//! (`lib/noise-wrap.js`): Noise IK over Ed25519 keys with the prologue
//! `NS_PEER_HANDSHAKE`, each side's `NoisePayload` carried inside, and the
//! holepunch secret derived from the handshake hash once both messages are
//! through. The `Cipher` that comes out is the secret stream of the
//! connection, waiting for its UDX stream (`set_io`).
//!
//! Untrusted input is the other side's Noise message and payload; a bad
//! one is an error, never a panic.

use hypercore_handshake::{Cipher, CipherEvent};

use crate::net::dht::encoding::crypto::{holepunch_secret, NS_PEER_HANDSHAKE};
use crate::net::dht::encoding::messages::{NoisePayload, ERROR_NONE};

#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("the Noise handshake failed: {0}")]
    Noise(String),
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

/// A finished handshake: the secret stream, what the other side said, and
/// the key of the holepunch payload box.
pub(crate) struct Handshaken {
    pub(crate) cipher: Cipher,
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

/// The client's half: made with the server's public key, it yields the
/// first Noise message and finishes with the server's answer.
pub(crate) struct ClientHandshake {
    cipher: Cipher,
    first: Vec<u8>,
}

impl ClientHandshake {
    pub(crate) fn start(
        server_public_key: &[u8; 32],
        ours: &NoisePayload,
    ) -> Result<Self, HandshakeError> {
        let mut cipher = Cipher::new_dht_init(None, server_public_key, &NS_PEER_HANDSHAKE)
            .map_err(|e| HandshakeError::Noise(e.to_string()))?;
        cipher
            .handshake_start(&ours.encode())
            .map_err(|e| HandshakeError::Noise(e.to_string()))?;
        let first = cipher
            .get_next_sendable_message()
            .map_err(|e| HandshakeError::Noise(e.to_string()))?
            .ok_or(HandshakeError::NoPayload)?;
        Ok(ClientHandshake { cipher, first })
    }

    /// The first Noise message, the same for every relay it goes through.
    pub(crate) fn first_message(&self) -> &[u8] {
        &self.first
    }

    /// Reads the server's answer. Consumes the handshake: a failed answer
    /// needs a fresh start.
    pub(crate) fn finish(mut self, answer: &[u8]) -> Result<Handshaken, HandshakeError> {
        self.cipher.receive_next(answer.to_vec());
        let remote = read_payload(&mut self.cipher)?;
        check(&remote)?;
        let remote_public_key = self.cipher.get_remote_static();
        let secret = secret_of(&self.cipher)?;
        Ok(Handshaken {
            cipher: self.cipher,
            remote,
            holepunch_secret: secret,
            remote_public_key,
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
/// compat: hypercore_handshake row (the IK responder reads the first
/// message twice: once to learn the client's payload, once to answer it).
pub(crate) fn respond(
    keypair_secret: [u8; 32],
    keypair_public: [u8; 32],
    first: &[u8],
    reply: impl FnOnce(Result<&NoisePayload, &HandshakeError>) -> NoisePayload,
) -> Result<Responded, HandshakeError> {
    let keypair =
        hypercore_handshake::snow_keypair_from_secret_and_public(keypair_secret, keypair_public);
    let responder = || {
        Cipher::resp_from_private_with_prologue(None, &keypair, &NS_PEER_HANDSHAKE)
            .map_err(|e| HandshakeError::Noise(e.to_string()))
    };
    // compat (hypercore_handshake row): the responder writes its answer in
    // the step that reads the client's message, so its payload must be
    // queued first. A throwaway responder reads the client's payload; the
    // real one then reads the same message with our payload queued.
    let mut peek = responder()?;
    peek.receive_next(first.to_vec());
    let remote = read_payload(&mut peek)?;
    let verdict = check(&remote);
    let ours = reply(verdict.as_ref().map(|()| &remote));
    let mut cipher = responder()?;
    cipher.queue_msg(ours.encode());
    cipher.receive_next(first.to_vec());
    read_payload(&mut cipher)?;
    let answer = cipher
        .get_next_sendable_message()
        .map_err(|e| HandshakeError::Noise(e.to_string()))?
        .ok_or(HandshakeError::NoPayload)?;
    let accepted = verdict.and_then(|()| {
        let remote_public_key = cipher.get_remote_static();
        let secret = secret_of(&cipher)?;
        Ok(Handshaken {
            cipher,
            remote,
            holepunch_secret: secret,
            remote_public_key,
        })
    });
    Ok(Responded { answer, accepted })
}

fn read_payload(cipher: &mut Cipher) -> Result<NoisePayload, HandshakeError> {
    match cipher.next_decrypted_message() {
        Ok(Some(CipherEvent::HandshakePayload(bytes))) => {
            NoisePayload::decode(&bytes).map_err(|_| HandshakeError::BadPayload)
        }
        Ok(Some(_)) | Ok(None) => Err(HandshakeError::NoPayload),
        Err(e) => Err(HandshakeError::Noise(e.to_string())),
    }
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

fn secret_of(cipher: &Cipher) -> Result<[u8; 32], HandshakeError> {
    let hash: &[u8; 64] = cipher
        .handshake_hash()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| HandshakeError::Noise("no 64-byte handshake hash".into()))?;
    Ok(holepunch_secret(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::messages::{
        SecretStreamInfo, UdxInfo, ERROR_ABORTED, FIREWALL_OPEN,
    };
    use ed25519_dalek::SigningKey;

    fn server_keys() -> ([u8; 32], [u8; 32]) {
        let seed = [7u8; 32];
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        (seed, public)
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
        let client = ClientHandshake::start(&public, &payload(11)).unwrap();
        let responded = respond(secret, public, client.first_message(), |theirs| {
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
    }

    #[test]
    fn a_refusal_reaches_the_client_as_an_error() {
        let (secret, public) = server_keys();
        let client = ClientHandshake::start(&public, &payload(1)).unwrap();
        let responded = respond(secret, public, client.first_message(), |_| NoisePayload {
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
        let client = ClientHandshake::start(&public, &payload(1)).unwrap();
        assert!(client.finish(&[0u8; 80]).is_err());
        assert!(respond(secret, public, &[1, 2, 3], |_| payload(2)).is_err());
        assert!(respond(secret, public, &[], |_| payload(2)).is_err());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        let wrong = ClientHandshake::start(&other, &payload(1)).unwrap();
        assert!(respond(secret, public, wrong.first_message(), |_| payload(2)).is_err());
        // A client without a UDX stream is answered, with a refusal.
        let no_udx = ClientHandshake::start(&public, &NoisePayload::default()).unwrap();
        let responded = respond(secret, public, no_udx.first_message(), |theirs| {
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
