//! [`IgnoreCase`]: Go eRPC's `plugin/ignorecase`, case-insensitive routing.

use crate::plugin::{MessageCtx, Plugin};
use crate::{ServiceMethod, Status};

/// Go eRPC's `plugin/ignorecase`: the service method of every incoming CALL and PUSH is
/// lower-cased (Unicode, as Go's `strings.ToLower`; the `?query` too, as Go does) before the
/// route is looked up, so `/Math/Add` reaches `/math/add`. Bodies and meta keep their case;
/// routes must be registered in lower case (the HTTP-style mapper does that).
///
/// Register it before plugins that look at the service method (the overloader's per-route
/// limits count the lower-cased name, as in Go).
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct IgnoreCase;

impl IgnoreCase {
    /// The plugin.
    pub const fn new() -> Self {
        IgnoreCase
    }

    fn lower(cx: &mut MessageCtx<'_>) {
        let sm = cx.message.service_method.as_str();
        // Most service methods are lower case already: no allocation then.
        if sm.chars().any(|c| c.to_lowercase().ne(std::iter::once(c))) {
            cx.message.service_method = ServiceMethod::from(sm.to_lowercase());
        }
    }
}

impl Plugin for IgnoreCase {
    fn name(&self) -> &str {
        "ignoreCase"
    }

    fn post_read_call_header(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        Self::lower(cx);
        Ok(())
    }

    fn post_read_push_header(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        Self::lower(cx);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::plugin::{SessionInfo, Swap};
    use crate::{Message, MessageType};

    #[allow(clippy::disallowed_methods)] // a test needs some instant; no hook reads it
    fn origin() -> Instant {
        Instant::now()
    }

    fn run(sm: &str, push: bool) -> String {
        let mut msg = Message::new(
            if push {
                MessageType::PUSH
            } else {
                MessageType::CALL
            },
            1,
            sm,
        );
        msg.body = bytes::Bytes::from_static(b"\"Keep Case\"");
        let info = SessionInfo::default();
        let mut swap = Swap::new();
        let mut cx = MessageCtx {
            message: &mut msg,
            session: &info,
            now: origin(),
            swap: &mut swap,
        };
        let p = IgnoreCase::new();
        if push {
            p.post_read_push_header(&mut cx).unwrap();
        } else {
            p.post_read_call_header(&mut cx).unwrap();
        }
        assert_eq!(&msg.body[..], b"\"Keep Case\"", "the body keeps its case");
        msg.service_method.as_str().to_owned()
    }

    #[test]
    fn lowers_calls_and_pushes() {
        assert_eq!(run("/Math/Add", false), "/math/add");
        assert_eq!(run("/ECHO/String?A=B", false), "/echo/string?a=b");
        assert_eq!(run("/Push/Echo", true), "/push/echo");
        assert_eq!(run("/already/lower", false), "/already/lower");
        assert_eq!(run("/ÄÖÜ/Straße", false), "/äöü/straße");
        assert_eq!(run("", false), "");
    }
}
