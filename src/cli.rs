//! The command line, clap derive style. Parsing only: what each subcommand
//! does lives in `headless` and `main`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::domain::RoomName;

#[derive(Debug, Parser)]
#[command(
    name = "hychat",
    version,
    about = "A serverless terminal chat: signed append-only logs replicated over the Hyperswarm DHT",
    long_about = "A serverless terminal chat. Each user writes a signed append-only log (a hypercore); \
friends follow each other's logs by key and replicate them live over the Hyperswarm DHT. \
With no subcommand, hychat opens the full-screen chat."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Keep everything (logs, keys, config, log file) under this directory.
    #[arg(long, global = true, env = "HYCHAT_STORAGE", value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// DHT bootstrap nodes, comma separated host:port; replaces the default list.
    #[arg(
        long,
        global = true,
        env = "HYCHAT_BOOTSTRAP",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub bootstrap: Option<Vec<String>>,
    /// Nickname written into your messages (remembered).
    #[arg(long, global = true, env = "HYCHAT_NICK", value_name = "NAME")]
    pub nick: Option<String>,
    /// Join this room (remembered): the chat opens in it, `send` writes into it, `seed` serves it.
    #[arg(long, global = true, env = "HYCHAT_ROOM", value_name = "NAME")]
    pub room: Option<RoomName>,
    /// Bind the network socket to this address: an IP (any free port) or IP:PORT [default: 0.0.0.0, every interface].
    #[arg(long, global = true, env = "HYCHAT_BIND", value_name = "ADDR", value_parser = parse_bind)]
    pub bind: Option<SocketAddr>,
    /// Log file verbosity: error, warn, info, debug or trace.
    #[arg(
        long,
        global = true,
        env = "HYCHAT_LOG",
        value_name = "LEVEL",
        default_value = "info"
    )]
    pub log_level: tracing::Level,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Print your share key (64 hex characters) and nothing else.
    Key,
    /// Append TEXT as a message, or each line of stdin when TEXT is absent.
    Send {
        text: Option<String>,
        /// Stay online up to SECS seconds until a connected peer has downloaded the new messages.
        #[arg(long, value_name = "SECS")]
        wait: Option<u64>,
        /// Print the number of messages on disk so far, one line per message, as each is
        /// written (for scripts that must know what was saved if they are cut off).
        #[arg(long)]
        progress: bool,
    },
    /// Follow a log and print each message as it arrives.
    Tail {
        key: String,
        /// One JSON object per line: the decoded block plus `log` and `seq`.
        #[arg(long)]
        json: bool,
        /// Print only the last N messages of the history first.
        #[arg(short = 'n', value_name = "N")]
        lines: Option<usize>,
    },
    /// Add a log to your follow list.
    Follow {
        key: String,
        /// A local name for it.
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a log from your follow list (its data stays on disk).
    Unfollow { key: String },
    /// List the logs you follow.
    Following,
    /// Stay online and keep replicating every log you hold, printing one line per event.
    /// Once reachable from outside, it also offers a blind relay to peers whose NATs cannot be punched.
    Seed {
        /// Offer no blind relay.
        #[arg(long)]
        no_relay: bool,
    },
    /// Reach whoever serves a log over hychat's own DHT node and report the path (diagnostics).
    Dial {
        /// The log's key (64 hex characters).
        key: String,
        /// Give up after SECS seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
    },
    /// Store or fetch a record on the DHT, as JS's immutablePut/Get and mutablePut/Get (diagnostics).
    Record {
        #[command(subcommand)]
        op: RecordCommand,
    },
    /// Print the completion script for a shell (see the README for where it goes).
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Run a DHT bootstrap node for a LAN, a server or an offline network.
    Bootstrap {
        #[arg(long, default_value_t = 49737)]
        port: u16,
        /// The address to listen on; give a server's public IP so JS peers accept the node's id.
        #[arg(long, default_value = "0.0.0.0")]
        host: std::net::IpAddr,
        /// Offer no blind relay (by default a bootstrap node offers one to peers whose NATs cannot be punched).
        #[arg(long)]
        no_relay: bool,
    },
}

/// `hychat record`'s operations.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Store TEXT under its hash; prints the hash.
    Put { text: String },
    /// Fetch the value stored under HASH (64 hex characters).
    Get { hash: String },
    /// Sign TEXT at SEQ with the key pair of SEED and store it under its public key.
    PutMutable {
        text: String,
        /// The key pair's seed (64 hex characters); keep it to update the record.
        #[arg(long)]
        seed: String,
        #[arg(long, default_value_t = 0)]
        seq: u64,
    },
    /// Fetch the newest record signed by KEY (64 hex characters), at SEQ or above.
    GetMutable {
        key: String,
        #[arg(long, default_value_t = 0)]
        seq: u64,
    },
}

fn parse_bind(text: &str) -> Result<SocketAddr, crate::net::bind::BindParseError> {
    crate::net::bind::parse_bind(text)
}

/// The shells `hychat completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script of the whole command line for `shell`.
pub fn completions(shell: CompletionShell) -> Vec<u8> {
    let generator = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut command, "hychat", &mut script);
    script
}

/// Writes the completion script for `shell` to stdout.
pub fn print_completions(shell: CompletionShell) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(&completions(shell))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_cover_every_subcommand_in_each_shell() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let script = String::from_utf8(completions(shell)).unwrap();
            for word in ["hychat", "tail", "following", "completions", "storage"] {
                assert!(script.contains(word), "{shell:?} lacks {word}");
            }
        }
    }

    #[test]
    fn room_names_are_checked_when_parsing() {
        let cli = Cli::try_parse_from(["hychat", "--room", " streams-day "]).unwrap();
        assert_eq!(cli.global.room, RoomName::parse("streams-day").ok());
        let long = "x".repeat(65);
        let error = Cli::try_parse_from(["hychat", "--room", &long]).unwrap_err();
        assert!(error.to_string().contains("at most 64"), "{error}");
    }

    #[test]
    fn bind_takes_an_ip_or_an_ip_and_port() {
        let cli = Cli::try_parse_from(["hychat", "--bind", "10.0.0.2"]).unwrap();
        assert_eq!(cli.global.bind, Some("10.0.0.2:0".parse().unwrap()));
        let error = Cli::try_parse_from(["hychat", "--bind", "nowhere"]).unwrap_err();
        assert!(
            error.to_string().contains("not an address to bind to"),
            "{error}"
        );
    }
}
