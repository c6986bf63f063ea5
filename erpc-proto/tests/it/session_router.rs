//! Every mapper row of the reference (§8.3, §8.4), registered by Go name and reached by the
//! mapped route through two sessions; groups compose prefixes; lookups are exact.
#![cfg(feature = "testing")]

use std::sync::Arc;

use erpc_proto::router::{Mapper, RouteId, Router};
use erpc_proto::session::{CallOptions, Event, Reply, SessionConfig};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, Message, MessageType};

const HTTP_ROWS: &[(&str, &str)] = &[
    ("AaBb", "/aa_bb"),
    ("ABcXYz", "/abc_xyz"),
    ("Aa__Bb", "/aa_bb"),
    ("Aa________Bb", "/aa_bb"),
    ("ABC__XYZ", "/abc_xyz"),
    ("Aa_Bb", "/aa/bb"),
    ("ABC_XYZ", "/abc/xyz"),
    ("HTTPServer", "/httpserver"),
    ("userID", "/user_id"),
    ("Get2ndItem", "/get2nd_item"),
    ("Add__2", "/add_2"),
    ("_Foo", "/foo"),
    ("__init", "/init"),
    ("Foo_", "/foo_"),
    ("a___b", "/a_b"),
    ("math_v2", "/math/v2"),
    ("MyHTTP_API", "/my_http/api"),
    ("heartbeat", "/heartbeat"),
];

const RPC_ROWS: &[(&str, &str)] = &[
    ("AaBb", "AaBb"),
    ("ABcXYz", "ABcXYz"),
    ("Aa__Bb", "Aa_Bb"),
    ("aa__bb", "aa_bb"),
    ("ABC__XYZ", "ABC_XYZ"),
    ("Aa_Bb", "Aa.Bb"),
    ("aa_bb", "aa.bb"),
    ("ABC_XYZ", "ABC.XYZ"),
    ("_Foo", "Foo"),
];

/// Registers `name` (mapped) on a fresh router and calls `route` through a pair: the server
/// must see a call on the registered route.
fn reaches(mapper: Mapper, register: impl FnOnce(&mut Router) -> RouteId, route: &str) {
    let mut r = Router::new(mapper);
    let id = register(&mut r);
    let mut s = SessionConfig::acceptor();
    s.router = Arc::new(r);
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(
            now,
            Message::new(MessageType::CALL, 0, route),
            CallOptions::default(),
        )
        .unwrap();
    pair.settle();
    let Some(Event::Call(c)) = pair.next_event(Side::Server) else {
        panic!("{route}: no call reached the handler");
    };
    assert_eq!(c.route, id, "{route}");
    assert_eq!(c.message.service_method, route);
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, c.token, Reply::ok(""))
        .unwrap();
    pair.settle();
    assert!(matches!(pair.next_event(Side::Client), Some(Event::CallDone(d)) if d.result.is_ok()));
}

#[test]
fn every_http_mapper_row() {
    for (name, route) in HTTP_ROWS {
        reaches(Mapper::Http, |r| r.root().add_call(name).unwrap(), route);
    }
}

#[test]
fn every_rpc_mapper_row() {
    for (name, route) in RPC_ROWS {
        reaches(Mapper::Rpc, |r| r.root().add_call(name).unwrap(), route);
    }
}

#[test]
fn groups_compose() {
    reaches(
        Mapper::Http,
        |r| r.group("Math").add_call("Add").unwrap(),
        "/math/add",
    );
    reaches(
        Mapper::Http,
        |r| r.group("srv").group("math_v2").add_call("Add__2").unwrap(),
        "/srv/math/v2/add_2",
    );
    reaches(
        Mapper::Rpc,
        |r| r.group("Hello").add_call("Say").unwrap(),
        "Hello.Say",
    );
    reaches(
        Mapper::Rpc,
        |r| r.group("grp").group("Math").add_call("Add").unwrap(),
        "grp.Math.Add",
    );
}

#[test]
fn lookups_are_exact() {
    for other in ["/Math/Add", "/math/add/", "/math/add?x=1", "math/add"] {
        let mut r = Router::new(Mapper::Http);
        r.group("Math").add_call("Add").unwrap();
        let mut s = SessionConfig::acceptor();
        s.router = Arc::new(r);
        let mut pair = Pair::new(SessionConfig::dialer(), s);
        let now = pair.now();
        pair.session(Side::Client)
            .call(
                now,
                Message::new(MessageType::CALL, 0, other),
                CallOptions::default(),
            )
            .unwrap();
        pair.settle();
        let Some(Event::CallDone(d)) = pair.next_event(Side::Client) else {
            panic!()
        };
        assert_eq!(d.result.unwrap_err().code(), Code::NOT_FOUND, "{other}");
    }
}
