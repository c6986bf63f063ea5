//! The cross-runtime conformance suite: every scenario, written once, runs with the server on
//! each runtime and the client on each runtime (tokio, async-std, smol, blocking: 4 × 4
//! pairs), and the protocol scenarios run over every wire protocol for every pair.
//!
//! Tests are named `<server>_server::<client>_client::<scenario>` (and
//! `protocols::<server>_server::<client>_client::<protocol>`), so one pair or one scenario
//! is selected with a filter: `cargo test -p erpc-tests --test it conformance::blocking_server`,
//! `... tokio_client::redial`; the networks: `conformance::networks::unixpacket` and
//! `conformance::networks::kcp`, `conformance::networks::ws`.
//!
//! * `facade.rs`: the synchronous interface a runtime implements, the service the server
//!   runs, the observation points (gate, mailboxes).
//! * `async_rt.rs`: that interface over `erpc_peer`, once for tokio, async-std and smol.
//! * `blocking_rt.rs`: that interface over `erpc-runtime-blocking`.
//! * `scenarios.rs`, `protocol_scenarios.rs`: the scenarios.
//!
//! tokio peers each own a two-thread runtime; async-std and smol peers run on those
//! runtimes' global executors (as applications use them); every facade method blocks on its
//! executor, so the scenarios are plain synchronous functions.
//!
//! Adding a runtime: one `Runtime` impl (or one `Exec` impl for an `erpc_peer` runtime),
//! one `static`, one line in `runtimes!`.

mod async_rt;
mod blocking_rt;
mod facade;
mod network_scenarios;
mod protocol_scenarios;
mod scenarios;

use async_rt::{AsyncRuntime, AsyncStdExec, SmolExec, TokioExec};
use blocking_rt::Blocking;

static TOKIO: AsyncRuntime<TokioExec> = AsyncRuntime::new();
static ASYNC_STD: AsyncRuntime<AsyncStdExec> = AsyncRuntime::new();
static SMOL: AsyncRuntime<SmolExec> = AsyncRuntime::new();
static BLOCKING: Blocking = Blocking;

/// The runtime table: `<server module> / <client module> => <runtime>`. Hands it to `$m!`.
macro_rules! runtimes {
    ($m:ident ! ($($args:tt)*)) => {
        $m!(
            runtimes: {
                tokio_server / tokio_client => crate::conformance::TOKIO,
                async_std_server / async_std_client => crate::conformance::ASYNC_STD,
                smol_server / smol_client => crate::conformance::SMOL,
                blocking_server / blocking_client => crate::conformance::BLOCKING,
            },
            $($args)*
        );
    };
}

/// One `#[test]` per server runtime × client runtime × scenario. A scenario may carry
/// attributes (e.g. `#[ignore = "why"]`), which apply to every pair.
macro_rules! matrix {
    (
        runtimes: { $($srv_mod:ident / $cli_mod:ident => $rt:path),+ $(,)? },
        scenarios in $smod:ident: { $($scenarios:tt)* }
    ) => {
        matrix!(@servers [$($srv_mod => $rt),+] [$($cli_mod => $rt),+] $smod { $($scenarios)* });
    };
    (@servers [$($srv_mod:ident => $srv:path),+] $clients:tt $smod:ident $scenarios:tt) => {
        $(
            mod $srv_mod {
                matrix!(@clients $srv, $clients $smod $scenarios);
            }
        )+
    };
    (@clients $srv:path, [$($cli_mod:ident => $cli:path),+] $smod:ident $scenarios:tt) => {
        $(
            mod $cli_mod {
                matrix!(@tests $srv, $cli, $smod $scenarios);
            }
        )+
    };
    (@tests $srv:path, $cli:path, $smod:ident { $($(#[$attr:meta])* $name:ident),+ $(,)? }) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                $crate::conformance::scenarios::run(&$srv, &$cli, stringify!($name), $crate::conformance::$smod::$name);
            }
        )+
    };
}

runtimes!(matrix!(
    scenarios in scenarios: {
        call,
        push,
        concurrent_calls,
        error_status,
        unknown_route,
        deadline,
        graceful_close,
        graceful_close_by_client,
        redial,
        tls,
        unix,
        oversized_frame,
        garbage_input,
        never_reading_client,
        push_floods_both_ways,
        timed_out_during_redial_never_runs,
        close_during_a_stuck_dial,
    }
));

/// The networks beyond tcp and unix: unixpacket, kcp and ws between every pair of runtimes.
mod networks {
    #[cfg(target_os = "linux")]
    mod unixpacket {
        runtimes!(matrix!(
            scenarios in network_scenarios: {
                unixpacket,
            }
        ));
    }
    mod kcp {
        runtimes!(matrix!(
            scenarios in network_scenarios: {
                kcp,
            }
        ));
    }
    mod ws {
        runtimes!(matrix!(
            scenarios in network_scenarios: {
                ws,
            }
        ));
    }
}

/// The protocol scenarios over raw, json, protobuf, thrift, thrift-struct and http.
mod protocols {
    runtimes!(matrix!(
        scenarios in protocol_scenarios: {
            raw,
            json,
            protobuf,
            thrift,
            thrift_struct,
            http,
        }
    ));
}
