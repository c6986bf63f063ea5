//! Plugin hooks: order, rewriting, and the effect of aborting at each abortable hook.
#![cfg(feature = "testing")]
// The probes record into a shared log from `Sync` plugins; the core's ban on locks is for
// library code.
#![allow(clippy::disallowed_types)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use erpc_proto::plugin::{MessageCtx, Plugin, Plugins, SessionInfo};
use erpc_proto::router::{Mapper, RouteKind, Router};
use erpc_proto::session::{CallOptions, CloseReason, Event, Reply, SessionConfig};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, Message, MessageType, Status};

type Log = Arc<Mutex<Vec<String>>>;

#[derive(Debug)]
struct Probe {
    name: &'static str,
    abort_at: Option<&'static str>,
    log: Log,
}

impl Probe {
    fn hit(&self, hook: &str) -> Result<(), Status> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{hook}", self.name));
        if self.abort_at == Some(hook) {
            return Err(Status::new(
                1234,
                format!("abort at {hook}"),
                None::<String>,
            ));
        }
        Ok(())
    }
}

impl Plugin for Probe {
    fn name(&self) -> &str {
        self.name
    }
    fn pre_write_call(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_write_call")
    }
    fn post_write_call(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_write_call")
    }
    fn pre_write_push(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_write_push")
    }
    fn pre_write_reply(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_write_reply")
    }
    fn post_write_reply(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_write_reply")
    }
    fn pre_read_header(&self, _: &SessionInfo) -> Result<(), Status> {
        self.hit("pre_read_header")
    }
    fn post_read_call_header(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_call_header")
    }
    fn post_read_push_header(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_push_header")
    }
    fn post_read_reply_header(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_reply_header")
    }
    fn pre_read_call_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_read_call_body")
    }
    fn pre_read_push_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_read_push_body")
    }
    fn pre_read_reply_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("pre_read_reply_body")
    }
    fn post_read_call_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_call_body")
    }
    fn post_read_push_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_push_body")
    }
    fn post_read_reply_body(&self, _: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.hit("post_read_reply_body")
    }
}

/// Lower-cases the service method before lookup, like Go's ignorecase plugin.
#[derive(Debug)]
struct IgnoreCase;

impl Plugin for IgnoreCase {
    fn name(&self) -> &str {
        "ignoreCase"
    }
    fn post_read_call_header(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        cx.message.service_method = cx.message.service_method.to_lowercase().into();
        Ok(())
    }
}

struct Setup {
    pair: Pair,
    log: Log,
}

/// Client with a global probe, server with a global probe and a route probe on `/g/a` and
/// `/g/p`. `abort` = (side, hook).
fn setup(abort: Option<(Side, &'static str)>) -> Setup {
    let log: Log = Arc::default();
    let probe = |name, side| -> Arc<dyn Plugin> {
        Arc::new(Probe {
            name,
            abort_at: abort.filter(|(s, _)| *s == side).map(|(_, h)| h),
            log: log.clone(),
        })
    };
    let mut r = Router::new(Mapper::Http);
    {
        let mut g = r
            .group("g")
            .with_plugins(vec![probe("route", Side::Server)])
            .unwrap();
        g.add_call("a").unwrap();
        g.add_push("p").unwrap();
    }
    let mut c = SessionConfig::dialer();
    c.plugins = Plugins::from_vec(vec![probe("client", Side::Client)]).unwrap();
    let mut s = SessionConfig::acceptor();
    s.plugins = Plugins::from_vec(vec![probe("server", Side::Server)]).unwrap();
    s.router = Arc::new(r);
    Setup {
        pair: Pair::new(c, s),
        log,
    }
}

fn call(setup: &mut Setup) -> Result<Result<Message, Status>, Status> {
    let pair = &mut setup.pair;
    let now = pair.now();
    let mut m = Message::new(MessageType::CALL, 0, "/g/a");
    m.body = Bytes::from_static(b"1");
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())?;
    pair.settle();
    if let Some(Event::Call(c)) = pair.next_event(Side::Server) {
        let now = pair.now();
        pair.session(Side::Server)
            .reply(now, c.token, Reply::ok("2"))
            .unwrap();
        pair.settle();
    }
    match pair.next_event(Side::Client) {
        Some(Event::CallDone(d)) => Ok(d.result),
        other => panic!("{other:?}"),
    }
}

fn push(setup: &mut Setup) -> Result<bool, Status> {
    let pair = &mut setup.pair;
    let now = pair.now();
    pair.session(Side::Client)
        .push(now, Message::new(MessageType::PUSH, 0, "/g/p"))?;
    pair.settle();
    Ok(matches!(
        pair.next_event(Side::Server),
        Some(Event::Push(_))
    ))
}

#[test]
fn hooks_run_in_go_order() {
    let mut s = setup(None);
    assert!(call(&mut s).unwrap().is_ok());
    let log = s.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "client:pre_write_call",
            "client:post_write_call",
            "server:pre_read_header",
            "server:post_read_call_header",
            "server:pre_read_call_body",
            "route:pre_read_call_body",
            "server:post_read_call_body",
            "route:post_read_call_body",
            "server:pre_write_reply",
            "route:pre_write_reply",
            "server:post_write_reply",
            "route:post_write_reply",
            "client:pre_read_header",
            "client:post_read_reply_header",
            "client:pre_read_reply_body",
            "client:post_read_reply_body",
        ]
    );
}

#[test]
fn abort_on_the_sending_side() {
    let mut s = setup(Some((Side::Client, "pre_write_call")));
    let st = call(&mut s).unwrap_err();
    assert_eq!(st.code().0, 1234);
    assert!(s.pair.session(Side::Server).poll_transmit().is_none());
    let mut s = setup(Some((Side::Client, "pre_write_push")));
    assert_eq!(push(&mut s).unwrap_err().code().0, 1234);
}

#[test]
fn abort_on_call_read_hooks_replies_with_the_status() {
    for hook in [
        "post_read_call_header",
        "pre_read_call_body",
        "post_read_call_body",
    ] {
        let mut s = setup(Some((Side::Server, hook)));
        let st = call(&mut s).unwrap().unwrap_err();
        assert_eq!(st.code().0, 1234, "{hook}");
        assert_eq!(st.raw_msg(), format!("abort at {hook}"));
    }
}

#[test]
fn abort_on_reply_read_hooks_becomes_the_call_status() {
    for hook in [
        "post_read_reply_header",
        "pre_read_reply_body",
        "post_read_reply_body",
    ] {
        let mut s = setup(Some((Side::Client, hook)));
        let st = call(&mut s).unwrap().unwrap_err();
        assert_eq!(st.code().0, 1234, "{hook}");
    }
}

#[test]
fn abort_on_push_read_hooks_drops_the_push() {
    for hook in [
        "post_read_push_header",
        "pre_read_push_body",
        "post_read_push_body",
    ] {
        let mut s = setup(Some((Side::Server, hook)));
        assert!(!push(&mut s).unwrap(), "{hook}");
        assert!(s.pair.session(Side::Server).is_open());
    }
    let mut s = setup(None);
    assert!(push(&mut s).unwrap());
}

#[test]
fn abort_on_pre_read_header_closes() {
    let mut s = setup(Some((Side::Server, "pre_read_header")));
    let st = call(&mut s).unwrap().unwrap_err();
    assert_eq!(st.code(), Code::CONN_CLOSED);
    assert!(s.pair.session(Side::Server).is_closed());
    let log = s.log.lock().unwrap().clone();
    assert!(
        !log.iter().any(|l| l.starts_with("server:post_read")),
        "{log:?}"
    );
    let _ = CloseReason::Local;
}

#[test]
fn reply_hooks_cannot_abort() {
    let mut s = setup(Some((Side::Server, "pre_write_reply")));
    assert!(call(&mut s).unwrap().is_ok());
}

#[test]
fn header_hook_rewrites_before_lookup() {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/math/add").unwrap();
    let mut s = SessionConfig::acceptor();
    s.router = Arc::new(r);
    s.plugins = Plugins::from_vec(vec![Arc::new(IgnoreCase)]).unwrap();
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(
            now,
            Message::new(MessageType::CALL, 0, "/Math/Add"),
            CallOptions::default(),
        )
        .unwrap();
    pair.settle();
    let Some(Event::Call(c)) = pair.next_event(Side::Server) else {
        panic!()
    };
    assert_eq!(c.message.service_method, "/math/add");
    assert!(!c.unknown);
    let _ = RouteKind::Call;
}

#[test]
fn duplicate_plugin_names_are_rejected() {
    let a: Arc<dyn Plugin> = Arc::new(IgnoreCase);
    assert!(Plugins::from_vec(vec![a.clone(), a]).is_err());
}
