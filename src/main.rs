//! The binary: parses the command line, sets up the log file and the
//! runtime, runs the TUI or a headless subcommand, and maps every failure to
//! one sentence on stderr and an exit code (1; clap uses 2 for bad flags).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use hychat::app::App;
use hychat::cli::{Cli, CliCommand, GlobalArgs};
use hychat::config::Config;
use hychat::domain::RoomName;
use hychat::headless::{self, Failure};
use hychat::logging;
use hychat::net::NetConfig;
use hychat::paths::Paths;
use time::{OffsetDateTime, UtcOffset};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Needs no storage, config or network.
    if let Some(CliCommand::Completions { shell }) = cli.command {
        return match hychat::cli::print_completions(shell) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                logging::say(&format!("hychat: cannot print the completions: {e}"));
                ExitCode::from(1)
            }
        };
    }
    // Must be read before any other thread exists.
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    match run(cli, offset) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            logging::say(&format!("hychat: {failure}"));
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli, offset: UtcOffset) -> Result<(), Failure> {
    let paths = match &cli.global.storage {
        Some(dir) => Paths::under(dir),
        None => Paths::standard().map_err(|e| Failure(e.to_string()))?,
    };
    // `following` only reads (`net::read_only`), and `completions` returned above.
    let needs_storage = !matches!(
        cli.command,
        Some(
            CliCommand::Bootstrap { .. }
                | CliCommand::Dial { .. }
                | CliCommand::Record { .. }
                | CliCommand::Following
                | CliCommand::Completions { .. }
        )
    );
    if needs_storage {
        ensure_writable(&paths.data)?;
    }
    let config = Config::load(&paths.config_file).map_err(|e| Failure(e.to_string()))?;
    let palette = config
        .palette(&paths.config_file)
        .map_err(|e| Failure(e.to_string()))?;
    hychat::ui::theme::set_palette(palette);
    let net_config = net_config(&cli.global, &config, &paths)?;
    let notify = config.notify();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}")))?;

    if let Some(CliCommand::Bootstrap {
        port,
        host,
        no_relay,
    }) = cli.command
    {
        logging::init(&paths.log_file, cli.global.log_level, true);
        let addr = (host, port).into();
        hychat::net::bind::check_bind(addr).map_err(|e| Failure(e.to_string()))?;
        // Other bootstrap nodes to join, only when named: a node of its own
        // network by default.
        let others = cli.global.bootstrap.clone().unwrap_or_default();
        return runtime.block_on(headless::bootstrap(addr, others, !no_relay));
    }
    if let Some(CliCommand::Dial { key, timeout }) = &cli.command {
        logging::init(&paths.log_file, cli.global.log_level, true);
        let (key, timeout) = (key.clone(), *timeout);
        return runtime.block_on(headless::dial(net_config, &key, timeout));
    }
    if let Some(CliCommand::Record { op }) = &cli.command {
        logging::init(&paths.log_file, cli.global.log_level, true);
        return runtime.block_on(headless::record(net_config, op));
    }
    logging::init(&paths.log_file, cli.global.log_level, true);
    tracing::info!(storage = %paths.data.display(), "starting");

    runtime.block_on(async move {
        match cli.command {
            None => run_tui(paged(net_config), offset, &paths, cli.global.room, notify).await,
            Some(CliCommand::Key) => headless::key(paged(local_only(net_config))).await,
            Some(CliCommand::Send {
                text,
                wait,
                progress,
            }) => {
                let config = if wait.is_some() {
                    paged(net_config)
                } else {
                    paged(local_only(net_config))
                };
                headless::send(config, text, wait, progress, cli.global.room).await
            }
            Some(CliCommand::Tail { key, json, lines }) => {
                let key = headless::parse_key(&key)?;
                headless::tail(paged(net_config), key, json, lines, offset).await
            }
            Some(CliCommand::Follow { key, name }) => {
                let key = headless::parse_key(&key)?;
                headless::follow(paged(local_only(net_config)), key, name).await
            }
            Some(CliCommand::Unfollow { key }) => {
                let key = headless::parse_key(&key)?;
                headless::unfollow(paged(local_only(net_config)), key).await
            }
            Some(CliCommand::Following) => headless::following(&paths.data),
            Some(CliCommand::Seed { no_relay }) => {
                let config = NetConfig {
                    offer_relay: !no_relay,
                    ..paged(net_config)
                };
                headless::seed(config, cli.global.room).await
            }
            Some(
                CliCommand::Bootstrap { .. }
                | CliCommand::Dial { .. }
                | CliCommand::Record { .. }
                | CliCommand::Completions { .. },
            ) => Ok(()),
        }
    })
}

async fn run_tui(
    config: NetConfig,
    offset: UtcOffset,
    paths: &Paths,
    room: Option<RoomName>,
    notify: hychat::notify::Settings,
) -> Result<(), Failure> {
    let (handle, events) = hychat::net::spawn(config)
        .await
        .map_err(|e| Failure(e.to_string()))?;
    let mut app = App::new(OffsetDateTime::now_utc());
    app.set_utc_offset(offset);
    // `--room`: joined like `/join`, and entered once the engine has it.
    let start = room.map(|room| app.join(room)).unwrap_or_default();
    hychat::tui::run(handle, events, app, start, notify)
        .await
        .map_err(|e| {
            Failure(format!(
                "the terminal failed: {e} (details in {})",
                paths.log_file.display()
            ))
        })
}

fn net_config(global: &GlobalArgs, config: &Config, paths: &Paths) -> Result<NetConfig, Failure> {
    let mut net = NetConfig::new(paths.data.clone());
    if let Some(bind) = global.bind {
        net.bind = bind;
    } else if let Some(bind) = &config.bind {
        net.bind = hychat::net::bind::parse_bind(bind).map_err(|reason| {
            Failure(format!(
                "the config file {} is not valid: bind: {reason}",
                paths.config_file.display()
            ))
        })?;
    }
    net.nickname = global.nick.clone().or_else(|| config.nick.clone());
    if let Some(list) = global
        .bootstrap
        .clone()
        .or_else(|| config.bootstrap.clone())
    {
        net.bootstrap = list
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(host) = config.host_local_bootstrap {
        net.host_local_bootstrap = host;
    }
    Ok(net)
}

/// For the chat and every headless command: history is read a page at a
/// time (or, by `tail`, from the index itself), not sent whole at start.
fn paged(mut config: NetConfig) -> NetConfig {
    config.replay_history = false;
    config
}

fn local_only(mut config: NetConfig) -> NetConfig {
    config.networking = false;
    config
}

/// Fails with one sentence when the storage directory cannot be created or written.
fn ensure_writable(dir: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure(format!(
            "cannot write to the storage directory {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".write-test");
    std::fs::File::create(&probe).map_err(fail)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
