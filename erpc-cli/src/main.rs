//! `erpc`: a command-line tool for eRPC services (Go or Rust) and erpc-rs's benchmark — a
//! `grpcurl` for eRPC.
//!
//! ```text
//! erpc serve --addr 127.0.0.1:9090                        # the demo server
//! erpc serve --addr 127.0.0.1:0 --register etcd://127.0.0.1:2379   # one of many nodes
//! erpc call etcd://127.0.0.1:2379 /math/add '[1,2]'      # any node serving /math/add
//! erpc nodes etcd://127.0.0.1:2379                        # what is registered
//! erpc call 127.0.0.1:9090 /math/add '[1,2,3,4,5]' --meta author=henrylee2cn
//! erpc push 127.0.0.1:9090 /push/echo '"hi"'
//! erpc watch 127.0.0.1:9090                               # print every push, until Ctrl-C
//! erpc decode 00000016000131010a2f6d6174682f616464...     # a frame as JSON
//! erpc bench --addr 127.0.0.1:8972                        # Go eRPC's benchmark
//! ```
//!
//! Every failure is one line on stderr starting with `error: ` and a non-zero exit code
//! (1; usage errors: 2).

mod bench;
mod bind_routes;
mod body;
mod browser;
mod call;
mod client;
mod decode;
mod latency;
mod meta_routes;
mod metrics;
mod overload;
mod progress;
mod proxy;
mod registry;
mod serve;
mod watch;

use clap::{Parser, Subcommand};

/// Call, push, watch, serve, decode and benchmark eRPC services.
#[derive(Parser, Debug)]
#[command(name = "erpc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Call SERVICE_METHOD on the eRPC peer at ADDR and print the reply body on stdout.
    Call(call::CallArgs),
    /// Push (one-way) BODY to SERVICE_METHOD on the eRPC peer at ADDR.
    Push(call::CallArgs),
    /// Dial ADDR and print every push received (`service_method body`, one line each), until
    /// Ctrl-C.
    Watch(watch::WatchArgs),
    /// Run a demo server: /math/add, /echo/bytes, /echo/string, /err/code, /slow/sleep,
    /// push /push/echo, and a /push/status broadcast.
    Serve(serve::ServeArgs),
    /// Decode frames (hex, or raw bytes from stdin with `-`) and print each as one JSON line.
    Decode(decode::DecodeArgs),
    /// List the nodes registered in a registry (`etcd://host:port`), one JSON line each.
    Nodes(registry::NodesArgs),
    /// Serve Go eRPC's benchmark handler (`Hello.Say`, protobuf) for `erpc bench`.
    BenchServer(bench::ServerArgs),
    /// Run Go eRPC's benchmark against a server (or one started here) and print one JSON line.
    Bench(bench::ClientArgs),
}

/// Logs to stderr; `RUST_LOG` overrides `default` (`info`, `warn`, ...).
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Call(a) => {
            init_tracing("warn");
            call::call(a)
        }
        Command::Push(a) => {
            init_tracing("warn");
            call::push(a)
        }
        Command::Watch(a) => {
            init_tracing("warn");
            watch::run(a)
        }
        Command::Serve(a) => {
            init_tracing("info");
            serve::run(a)
        }
        Command::Nodes(a) => {
            init_tracing("warn");
            registry::nodes(a)
        }
        Command::Decode(a) => decode::run(a),
        Command::BenchServer(a) => bench::server(a),
        Command::Bench(a) => bench::client(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the error text holds.
            let text = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}
