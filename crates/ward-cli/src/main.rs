//! The `ward` binary.

#![forbid(unsafe_code)]

mod actions;
mod backend;
mod cli;
mod commands;
mod context;
mod credentials;
mod events_input;
mod failure;
mod output;
mod remote;

use clap::Parser;

/// mimalloc instead of the system allocator: the server's request path allocates a lot, and
/// glibc malloc took about a fifth of the CPU under `ward bench http` (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use cli::{BenchCommand, Cli, Command, DebugCommand, Output};
use failure::{EXIT_ERROR, Failure};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and usage errors print as clap prints them, unless the message would repeat
            // an argument that looks like PHI or a secret; a value clap refused is repeated only
            // when it is shaped like an id (attack round 8: `219451100` as an extra argument).
            if !e.use_stderr() {
                e.exit();
            }
            let text = without_refused_values(&e);
            match ward_app::identifier::withheld(&text) {
                Some(w) => say(&format!("error: {w}\nhint: see `ward --help`\n")),
                None => say(&text),
            }
            std::process::exit(2);
        }
    };
    if let Command::SampleService = cli.command {
        ward_runtime::sample::main();
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARD_LOG").unwrap_or_else(|_| {
                // The demo narrates what happens; the engine's warnings would repeat it.
                if matches!(cli.command, Command::Demo(_)) {
                    "error".into()
                } else {
                    "warn,rustls_platform_verifier=off".into()
                }
            }),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person's terminal, never in a file or a log collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(run(&cli));
    if let Err(e) = result {
        std::process::exit(report(&cli.global, &e));
    }
}

/// Clap's message with each value it refused (an unknown argument, an invalid value or
/// command) replaced by its length unless [`ward_app::identifier::shown`] would quote it.
fn without_refused_values(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut text = e.render().to_string();
    // Only these carry what was typed; the others name Ward's own arguments (a missing one).
    if !matches!(
        e.kind(),
        ErrorKind::UnknownArgument
            | ErrorKind::InvalidValue
            | ErrorKind::ValueValidation
            | ErrorKind::InvalidSubcommand
            | ErrorKind::NoEquals
            | ErrorKind::TooManyValues
            | ErrorKind::WrongNumberOfValues
            | ErrorKind::InvalidUtf8
    ) {
        return text;
    }
    for kind in [
        ContextKind::InvalidArg,
        ContextKind::InvalidValue,
        ContextKind::InvalidSubcommand,
    ] {
        let values: Vec<String> = match e.get(kind) {
            Some(ContextValue::String(v)) => vec![v.clone()],
            Some(ContextValue::Strings(v)) => v.clone(),
            _ => continue,
        };
        for v in values.iter().filter(|v| !v.is_empty()) {
            // A flag's own name (`--limit`) stays: it is Ward's, not the caller's value.
            // A flag's own name: letters, at most three digits (`--5551234567` is a number).
            let flag = v.starts_with('-')
                && v.chars().any(|c| c.is_ascii_alphabetic())
                && v.chars().filter(char::is_ascii_digit).count() <= 3
                && v.chars()
                    .skip_while(|c| *c == '-')
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !flag && !ward_app::identifier::shown(v).starts_with('"') {
                text = text.replace(v.as_str(), &format!("({} characters)", v.chars().count()));
            }
        }
    }
    text
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => commands::init::run(g, a).await,
        Command::Log(c) => commands::log::run(g, c).await,
        Command::Verify(a) => match &a.what {
            Some(crate::cli::VerifyCommand::Bundle { file, key }) => commands::bundle::verify(g, file, key),
            Some(crate::cli::VerifyCommand::Population { dir, key }) => commands::audit::verify(g, dir, key),
            None => commands::verify::run(g, a),
        },
        Command::Bundle(c) => commands::bundle::run(g, c).await,
        Command::Audit(c) => commands::audit::run(g, c).await,
        Command::Report(crate::cli::ReportCommand::Compliance {
            from,
            to,
            env,
            format,
            out,
        }) => commands::audit::compliance(g, from, to, env.as_deref(), format, out).await,
        Command::Demo(a) => commands::demo::run(g, a).await,
        Command::SampleService => Ok(()),
        Command::Serve(a) => commands::serve::run(g, a).await,
        Command::Login(a) => commands::login::login(g, a).await,
        Command::Logout => commands::login::logout(g).await,
        Command::Whoami => commands::login::whoami(g).await,
        Command::Token(c) => commands::token::token(g, c).await,
        Command::User(c) => commands::token::user(g, c).await,
        Command::Artifact(c) => commands::evidence::artifact(g, c).await,
        Command::Attest(c) => commands::evidence::attest(g, c).await,
        Command::Key(c) => commands::keys::key(g, c).await,
        Command::Change(c) => commands::change::change(g, c).await,
        Command::Approve(a) => commands::change::approve(g, a).await,
        Command::Purge(a) => commands::purge::run(g, a).await,
        Command::Gate(c) => commands::gate::gate(g, c).await,
        Command::Policy(c) => commands::gate::policy(g, c),
        Command::Waiver(c) => commands::gate::waiver(g, c).await,
        Command::BreakGlass(a) => commands::gate::break_glass(g, a).await,
        Command::Review(c) => commands::gate::review(g, c).await,
        Command::Promote {
            change,
            to,
            tenants,
            ring,
        } => commands::promote::promote(g, change, to, tenants, ring.as_deref()).await,
        Command::Config(c) => commands::promote::config(g, c).await,
        Command::Rollout(c) => commands::rollout::rollout(g, c).await,
        Command::Drill(crate::cli::DrillCommand::Rollback { env, stay }) => {
            commands::rollout::drill(g, env, *stay).await
        }
        Command::Deployments { env, cmd } => match (env, cmd) {
            (
                _,
                Some(crate::cli::DeploymentsCommand::Show {
                    seq,
                    output_log,
                    tenant,
                }),
            ) => commands::promote::deployment_show(g, *seq, *output_log, tenant.as_deref()).await,
            (Some(env), None) => commands::promote::deployments(g, env).await,
            (None, None) => unreachable!("clap requires --env without a subcommand"),
        },
        Command::Rollback { env, tenant } => commands::promote::rollback(g, env, tenant.as_deref()).await,
        Command::Env(c) => commands::promote::env(g, c).await,
        Command::Release(crate::cli::ReleaseCommand::Notes { env, since }) => {
            commands::promote::release_notes(g, env, since.as_deref()).await
        }
        Command::Slo(crate::cli::SloCommand::Status(a)) => commands::slo::status(g, a).await,
        Command::Dr(crate::cli::DrCommand::Status(a)) => commands::dr::status(g, a).await,
        Command::Dr(crate::cli::DrCommand::RestoreTest(a)) => commands::dr::restore_test(g, a).await,
        Command::Metrics(crate::cli::MetricsCommand::Dora(a)) => commands::metrics::dora(g, a).await,
        Command::Metrics(crate::cli::MetricsCommand::Governance(a)) => commands::metrics::governance(g, a).await,
        Command::Bench(BenchCommand::Append(a)) => commands::bench::append(g, a).await,
        // Its own runtimes (router, load generator) run on a plain thread.
        Command::Bench(BenchCommand::Router(a)) => tokio::task::block_in_place(|| {
            std::thread::scope(|s| {
                s.spawn(|| commands::bench_router::router(g, a))
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the router benchmark panicked")))
            })
        }),
        Command::Bench(BenchCommand::Http(a)) => commands::bench::http(g, a).await,
        Command::Bench(BenchCommand::Gate(a)) => commands::bench::gate(g, a).await,
        Command::Bench(BenchCommand::Rollback(a)) => commands::bench::rollback(g, a).await,
        Command::Debug(DebugCommand::AppendLoop(a)) => commands::debug::append_loop(g, a).await,
    }
}

/// Prints the error (one line, then a hint) and returns the exit code. A command in the hint is
/// printed as it works in this run's mode: locally a person's command names the local user it
/// runs as (`ward --as USER approve …`), through `--server` the server (`actions::as_run`).
fn report(g: &cli::Global, e: &anyhow::Error) -> i32 {
    let out = g.output;
    let (kind, message, hint, code) = match e.downcast_ref::<Failure>() {
        Some(f) => (f.kind.as_ref(), f.message.clone(), f.hint.clone(), f.code),
        None => ("error", format!("{e:#}"), None, EXIT_ERROR),
    };
    // Never echo: a message or hint that quotes PHI or a secret (an argument the parser
    // rejected, a value a check refused) is withheld, like the server's.
    let message = ward_app::identifier::withheld(&message).unwrap_or(message);
    let hint = hint.map(|h| ward_app::identifier::withheld(&h).unwrap_or(h));
    let hint = hint.map(|h| actions::as_run(&h, g));
    let message = message.replace('\n', " ");
    if out == Output::Json {
        output::write_line(
            &serde_json::json!({ "error": { "code": kind, "message": message, "hint": hint } }).to_string(),
        );
    }
    say(&format!("error: {message}\n"));
    if let Some(h) = hint {
        say(&format!("hint: {h}\n"));
    }
    code
}

/// Writes to stderr, ignoring a closed one (`ward … 2>&1 | head -c 5`): the exit code still
/// says what happened, and `eprintln!` would panic on the broken pipe (a helper's attack on
/// `d683bca`).
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
