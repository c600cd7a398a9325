//! The network pane (F2, `/net`): its content at a width (this node's
//! facts, then each connection with its address, path, rooms and the logs
//! it carries) and how far it scrolls on a screen. Pure text layout over
//! the app's state; `ui` only styles the tones. A fact that is not known is
//! said to be not known, never guessed.

use ratatui::layout::Rect;

use crate::app::overlay::{popup_area, text_width};
use crate::app::{text, App};
use crate::domain::LogKey;
use crate::net::{show_address, Nat, PeerPath, Reachability};

use super::peers::{short_duration, Peer};
use super::DhtState;

/// How a piece of the network pane should look; `ui` maps these to styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneTone {
    Heading,
    /// The name of a fact.
    Label,
    Plain,
    /// Secondary text, and what is not known.
    Dim,
    /// A fact that is good news (reachable).
    Good,
    /// A fact that keeps peers out (not reachable, a port-changing NAT).
    Warning,
    /// A connection's short id.
    Id,
    /// A name, in the colour of this log's writer.
    Nick(LogKey),
}

/// One line of the pane: pieces of text with their tones.
pub type PaneLine = Vec<(String, PaneTone)>;

const NOT_KNOWN: &str = "not known yet";
/// Width of the fact names when names and values sit side by side.
const LABEL_COLUMN: usize = 22;
/// Narrowest value column worth keeping beside the names.
const MIN_VALUE: usize = 24;
/// Indent of a value stacked under its name.
const STACKED_INDENT: usize = 6;
/// Indent of a connection's second and further lines.
const CONNECTION_INDENT: usize = 4;
/// Between the facts of one line.
const SEPARATOR: &str = " · ";

/// The network pane at a text width: this node's facts, then each
/// connection with its address, path and the logs it carries.
pub fn lines(app: &App, width: usize) -> Vec<PaneLine> {
    let report = app.network_report();
    let mut out = vec![vec![("This node".to_string(), PaneTone::Heading)]];
    let state_tone = match app.dht_state() {
        DhtState::Online => PaneTone::Good,
        DhtState::Offline | DhtState::Bootstrapping => PaneTone::Warning,
        DhtState::Connecting | DhtState::Disabled => PaneTone::Dim,
    };
    let state = app.dht_words();
    entry(&mut out, "DHT", &state, state_tone, width);
    let since = app.network_since();
    let local = since.to_offset(app.utc_offset());
    let since = format!(
        "{:02}:{:02} ({} ago)",
        local.hour(),
        local.minute(),
        short_duration(since, app.now())
    );
    entry(&mut out, "since", &since, PaneTone::Plain, width);
    let (listening, tone) = match report.bound {
        Some(bound) if bound.ip().is_unspecified() => {
            (format!("{bound} (every interface)"), PaneTone::Plain)
        }
        Some(bound) => (bound.to_string(), PaneTone::Plain),
        None => (NOT_KNOWN.to_string(), PaneTone::Dim),
    };
    entry(&mut out, "listening on", &listening, tone, width);
    let (local_ip, tone) = known(report.local_ip.map(|ip| ip.to_string()));
    entry(&mut out, "local address", &local_ip, tone, width);
    let (public, tone) = known(
        report
            .public_ip
            .map(|ip| format!("{ip} (as DHT nodes see it)")),
    );
    entry(&mut out, "public address", &public, tone, width);
    let tone = match report.nat {
        Nat::Unknown => PaneTone::Dim,
        Nat::None | Nat::Consistent => PaneTone::Plain,
        Nat::Random => PaneTone::Warning,
    };
    entry(&mut out, "NAT", report.nat.meaning(), tone, width);
    let (reachable, tone) = match report.reachable {
        Reachability::Unknown => (NOT_KNOWN, PaneTone::Dim),
        Reachability::Reachable => ("yes", PaneTone::Good),
        Reachability::Unreachable => (
            "no (a NAT or firewall drops unsolicited traffic)",
            PaneTone::Warning,
        ),
    };
    entry(&mut out, "reachable from outside", reachable, tone, width);
    let punches = report.punches;
    let relayed = if punches.relayed > 0 {
        format!(", {} through a blind relay", punches.relayed)
    } else {
        String::new()
    };
    let tally = format!(
        "{} punched, {} direct{relayed}, {} failed",
        punches.punched, punches.direct, punches.failed
    );
    let tone = if punches.failed > 0 && punches.punched == 0 {
        PaneTone::Warning
    } else {
        PaneTone::Plain
    };
    entry(&mut out, "connections made", &tally, tone, width);

    out.push(Vec::new());
    let peers = app.peers().peers();
    out.push(vec![(
        format!("Connections ({})", peers.len()),
        PaneTone::Heading,
    )]);
    if peers.is_empty() {
        out.push(vec![("  none".to_string(), PaneTone::Dim)]);
    }
    for peer in peers {
        connection(&mut out, app, peer, width);
    }
    out
}

/// Rows the pane can scroll on a screen of this size.
pub fn max_scroll(app: &App, screen: Rect) -> usize {
    let count = lines(app, text_width(screen.width)).len();
    let visible = usize::from(popup_area(screen, count).height.saturating_sub(2));
    count.saturating_sub(visible)
}

fn known(value: Option<String>) -> (String, PaneTone) {
    match value {
        Some(value) => (value, PaneTone::Plain),
        None => (NOT_KNOWN.to_string(), PaneTone::Dim),
    }
}

/// `  dee d1d1d1d1 · LAN · 192.168.1.30:49737 · for 3m`, then the rooms it
/// was met in and one line per log it carries, `relayed` when it is not
/// the peer's own.
fn connection(out: &mut Vec<PaneLine>, app: &App, peer: &Peer, width: usize) {
    let mut who = Vec::new();
    if let (Some(key), Some(name)) = (peer.own_log(), app.peer_name(peer)) {
        who.push((
            format!("{} ", text::printable_line(&name)),
            PaneTone::Nick(key),
        ));
    }
    who.push((peer.id.short(), PaneTone::Id));
    let path_tone = match peer.route.path {
        PeerPath::Unknown => PaneTone::Dim,
        _ => PaneTone::Plain,
    };
    let address = match peer.route.address {
        Some(address) => (show_address(address), PaneTone::Plain),
        None => ("address not reported".to_string(), PaneTone::Dim),
    };
    let mut items = vec![
        who,
        vec![(peer.route.path.label().to_string(), path_tone)],
        vec![address],
    ];
    if let Some(link) = peer.route.link.label() {
        items.push(vec![(link, PaneTone::Plain)]);
    }
    items.push(vec![(
        format!("for {}", short_duration(peer.since, app.now())),
        PaneTone::Dim,
    )]);
    out.extend(flow(items, 2, CONNECTION_INDENT, width));
    let rooms: Vec<String> = peer.room_tags();
    if !rooms.is_empty() {
        let room = width.saturating_sub(CONNECTION_INDENT);
        for row in text::wrap_line(&format!("in {}", rooms.join(" ")), room, room) {
            out.push(vec![
                (" ".repeat(CONNECTION_INDENT), PaneTone::Plain),
                (row, PaneTone::Dim),
            ]);
        }
    }
    if peer.logs.is_empty() {
        out.push(vec![(
            format!("{}no logs yet", " ".repeat(CONNECTION_INDENT)),
            PaneTone::Dim,
        )]);
    }
    for log in &peer.logs {
        let mut label = Vec::new();
        if let Some(name) = app.name_of(log) {
            label.push((
                format!("{} ", text::printable_line(&name)),
                PaneTone::Nick(*log),
            ));
        }
        label.push((log.short(), PaneTone::Dim));
        let mut items = vec![label];
        if peer.relays(log, app.own()) {
            items.push(vec![("relayed".to_string(), PaneTone::Plain)]);
        }
        out.extend(flow(items, CONNECTION_INDENT, CONNECTION_INDENT + 2, width));
    }
}

/// A fact: its name and value side by side when there is room, else the
/// value stacked under its name; the value wraps at words.
fn entry(out: &mut Vec<PaneLine>, label: &str, value: &str, tone: PaneTone, width: usize) {
    let side_by_side = width >= 2 + LABEL_COLUMN + 1 + MIN_VALUE;
    if side_by_side {
        let indent = 2 + LABEL_COLUMN + 1;
        let rows = text::wrap_line(value, width - indent, width - indent);
        for (number, row) in rows.into_iter().enumerate() {
            let left = if number == 0 {
                format!("  {label:<LABEL_COLUMN$} ")
            } else {
                " ".repeat(indent)
            };
            out.push(vec![(left, PaneTone::Label), (row, tone)]);
        }
    } else {
        out.push(vec![(format!("  {label}"), PaneTone::Label)]);
        let room = width.saturating_sub(STACKED_INDENT);
        for row in text::wrap_line(value, room, room) {
            out.push(vec![
                (" ".repeat(STACKED_INDENT), PaneTone::Plain),
                (row, tone),
            ]);
        }
    }
}

/// Lays items (each a few pieces) out on lines of `width`, separated by
/// ` · `; an item that does not fit goes to the next line at `indent`,
/// after a `· ` that says the line goes on, and one wider than a whole
/// line is cut.
fn flow(items: Vec<PaneLine>, first: usize, indent: usize, width: usize) -> Vec<PaneLine> {
    let mut out = Vec::new();
    let mut line: PaneLine = vec![(" ".repeat(first), PaneTone::Plain)];
    let mut used = first;
    let mut empty = true;
    for item in items {
        let item_width: usize = item.iter().map(|(t, _)| text::width(t)).sum();
        if !empty && used + text::width(SEPARATOR) + item_width > width {
            out.push(std::mem::take(&mut line));
            let goes_on = SEPARATOR.trim_start();
            line.push((" ".repeat(indent), PaneTone::Plain));
            line.push((goes_on.to_string(), PaneTone::Dim));
            used = indent + text::width(goes_on);
        } else if !empty {
            line.push((SEPARATOR.to_string(), PaneTone::Dim));
            used += text::width(SEPARATOR);
        }
        for (piece, tone) in item {
            let room = width.saturating_sub(used);
            let piece = text::truncate(&piece, room);
            used += text::width(&piece);
            if !piece.is_empty() {
                line.push((piece, tone));
            }
        }
        empty = false;
    }
    out.push(line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &PaneLine) -> String {
        line.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn flow_wraps_items_at_separators_and_cuts_what_cannot_fit() {
        let item = |s: &str| vec![(s.to_string(), PaneTone::Plain)];
        let lines = flow(vec![item("aaaa"), item("bbbb"), item("cccc")], 2, 4, 14);
        let lines: Vec<String> = lines.iter().map(plain).collect();
        assert_eq!(lines, ["  aaaa · bbbb", "    · cccc"]);
        let lines = flow(vec![item("a-very-long-piece")], 2, 4, 10);
        assert_eq!(plain(&lines[0]), "  a-very-…");
    }

    #[test]
    fn facts_stack_under_their_names_when_narrow() {
        let at = |width| {
            let mut out = Vec::new();
            entry(
                &mut out,
                "NAT",
                "none (public address)",
                PaneTone::Plain,
                width,
            );
            out.iter().map(plain).collect::<Vec<String>>()
        };
        assert_eq!(
            at(76)[0],
            format!("  NAT{}none (public address)", " ".repeat(LABEL_COLUMN - 2))
        );
        assert_eq!(at(30), ["  NAT", "      none (public address)"]);
    }
}
