//! Containing panics inside dependencies (see the table in `compat/mod.rs`):
//! `contain` runs a future and turns a panic inside it into an error naming
//! its cause; `message` reads a panic's text. A connection's `Protocol`
//! can panic (hypercore-protocol), and closing it afterwards can panic
//! again. The log line says `recovered from a panic`, which the
//! lab tests look for after every `panicked at`.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// A panic caught while driving a DHT node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Panicked {
    pub(crate) cause: String,
}

/// Runs `future`; a panic inside it becomes `Err` with its message. What
/// the future owned (the node) is dropped during the unwind; none of the
/// crates' drop code takes a poisonable lock (checked for hyperdht 0.1.1,
/// dht-rpc 0.0.2, hyperswarm 0.1.0 and udx 0.2.0), so that cannot panic again.
pub(crate) async fn contain<F: Future>(future: F) -> Result<F::Output, Panicked> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|payload| Panicked {
            cause: message(payload.as_ref()),
        })
}

/// The text a panic was raised with (`panic!`/`todo!`/`unwrap` messages).
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Logs a contained panic in the words the lab tests look for: every
/// `panicked at` in a log must be followed by `recovered from a panic`.
pub(crate) fn log_contained(what: &str, then: &str, panicked: &Panicked) {
    tracing::error!(
        cause = %panicked.cause,
        "{what} panicked inside a dependency; recovered from a panic, {then}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_cause() {
        let caught = contain(async { todo!("PEER_HOLEPUNCH") }).await;
        let panicked: Panicked = caught.unwrap_err();
        assert!(panicked.cause.contains("PEER_HOLEPUNCH"), "{panicked:?}");
        let formatted = contain(async {
            let n = 6;
            panic!("command {n}")
        })
        .await;
        assert_eq!(formatted.unwrap_err().cause, "command 6");
    }

    #[tokio::test]
    async fn a_future_that_ends_gives_its_output() {
        assert_eq!(contain(async { 7 }).await, Ok(7));
    }
}
