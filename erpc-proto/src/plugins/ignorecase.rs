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
        if sm.chars().any(|c| go_to_lower(c).ne(std::iter::once(c))) {
            let lower: String = sm.chars().flat_map(go_to_lower).collect();
            cx.message.service_method = ServiceMethod::from(lower);
        }
    }
}

/// Go's `unicode.ToLower`, rune by rune (what `strings.ToLower` does): the simple mapping,
/// so no final-sigma rule (`Σ` is always `σ`) and `İ` becomes `i` alone. Rust's full mapping
/// differs from it only in `İ` (`i` + combining dot) among the lowercase mappings.
fn go_to_lower(c: char) -> impl Iterator<Item = char> {
    let single = (c == '\u{130}').then_some('i');
    let full = if single.is_some() {
        None
    } else {
        Some(c.to_lowercase())
    };
    single.into_iter().chain(full.into_iter().flatten())
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
        // Go's simple mapping: no final sigma, İ → i.
        assert_eq!(run("/ΟΔΟΣ", false), "/οδοσ");
        assert_eq!(run("/İx", false), "/ix");
        assert_eq!(run("", false), "");
    }
}
