//! A search of one channel's history over the message indexes of its logs:
//! every message of the channel's room whose text contains the query,
//! ignoring case, with the place it sorts at in the channel
//! (docs/architecture.md §4, "Search").

use std::path::PathBuf;

use crate::domain::keys::LogKey;
use crate::net::history::{Position, SearchRequest, SearchResults, MAX_MATCHES};
use crate::net::log::history::position_of;
use crate::net::log::index::IndexReader;

/// Every match of `request` in the indexes in `dirs`, oldest first.
pub(crate) fn search(dirs: &[(LogKey, PathBuf)], request: &SearchRequest) -> SearchResults {
    let needle = request.query.to_lowercase();
    let room = request.room.as_ref().map(|r| r.as_str());
    let mut matches: Vec<Position> = Vec::new();
    if !needle.is_empty() {
        for (log, dir) in dirs {
            let Some(reader) = IndexReader::open(dir) else {
                continue;
            };
            let Ok(entries) = reader.entries() else {
                continue;
            };
            for entry in entries {
                let Some(message) = &entry.message else {
                    continue;
                };
                if message.room.as_deref() == room && message.text.to_lowercase().contains(&needle)
                {
                    matches.push(position_of(*log, &entry));
                }
            }
        }
    }
    matches.sort_unstable();
    let capped = matches.len() > MAX_MATCHES;
    if capped {
        matches.drain(..matches.len() - MAX_MATCHES);
    }
    SearchResults {
        generation: request.generation,
        room: request.room.clone(),
        query: request.query.clone(),
        matches,
        capped,
    }
}
