//! The keepalive (`hychat/ping`): an empty extension message hychat peers
//! send each other while a connection is quiet, so a silent connection can be
//! told from a quiet one. Pure.

use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;

/// The keepalive hychat peers send each other while a connection is quiet.
pub(crate) const PING_EXTENSION: &str = "hychat/ping";

/// One keepalive.
pub(crate) fn ping_message() -> Message {
    Message::Extension(Extension {
        name: PING_EXTENSION.to_string(),
        message: Vec::new(),
    })
}
