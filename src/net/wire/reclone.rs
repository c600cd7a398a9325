//! The reclone hint (`hychat/reclone`): "your copy of this log broke our
//! channel", sent when a log's channel fails so the peer clones it afresh.
//! Pure; never panics on input.

use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;

use crate::domain::DiscoveryKey;

/// The extension that tells a peer its copy of a log looks broken.
pub(crate) const RECLONE_EXTENSION: &str = "hychat/reclone";

/// The reclone hint for a log: its discovery key, 32 raw bytes.
pub(crate) fn reclone_message(discovery_key: DiscoveryKey) -> Message {
    Message::Extension(Extension {
        name: RECLONE_EXTENSION.to_string(),
        message: discovery_key.0.to_vec(),
    })
}

/// The log a reclone hint names, if its payload is one.
pub(crate) fn decode_reclone(payload: &[u8]) -> Option<DiscoveryKey> {
    payload.try_into().ok().map(DiscoveryKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclone_hints_name_a_log_or_nothing() {
        let Message::Extension(hint) = reclone_message(DiscoveryKey([5; 32])) else {
            panic!("an extension");
        };
        assert_eq!(hint.name, RECLONE_EXTENSION);
        assert_eq!(decode_reclone(&hint.message), Some(DiscoveryKey([5; 32])));
        assert_eq!(decode_reclone(b"short"), None);
    }
}
