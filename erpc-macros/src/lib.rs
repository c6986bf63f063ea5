//! `#[erpc::service]`: registers every `async fn` of an `impl` block as an eRPC handler, the
//! way Go eRPC registers a struct's methods by reflection.
//!
//! Methods taking a `CallCtx` become call handlers, methods taking a `PushCtx` push handlers.
//! Route names come from the peer's mapper applied to the type name and the method name in
//! Go's spelling (`add` → `Add`, `sub_items` → `SubItems`), so a Rust service answers at the
//! same routes as the Go struct it replaces: `/math/add` with the HTTP mapper, `Math.Add` with
//! the RPC mapper.
//!
//! ```ignore
//! use erpc_runtime_tokio::{builder, service, CallCtx, PeerConfig, Status};
//!
//! struct Math;
//!
//! #[service]
//! impl Math {
//!     async fn add(&self, _ctx: CallCtx, args: Vec<i64>) -> Result<i64, Status> {
//!         Ok(args.iter().sum())
//!     }
//! }
//!
//! let peer = builder(PeerConfig::default()).service(Math).build()?; // registers /math/add
//! ```
//!
//! `#[service(prefix = "math_v2")]` registers under another group name instead of the type
//! name.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, FnArg, ImplItem, ItemImpl, LitStr, Type};

/// Registers the `async fn`s of an `impl` block as eRPC handlers. See the crate docs.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut prefix: Option<String> = None;
    if !attr.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("prefix") {
                let s: LitStr = meta.value()?.parse()?;
                prefix = Some(s.value());
                Ok(())
            } else {
                Err(meta.error("expected `prefix = \"...\"`"))
            }
        });
        parse_macro_input!(attr with parser);
    }
    let imp = parse_macro_input!(item as ItemImpl);
    match expand(imp, prefix) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Go's spelling of a Rust method name: `sub_items` → `SubItems`.
fn go_name(rust: &str) -> String {
    rust.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_ident(&r.elem),
        _ => None,
    }
}

/// The path of the crate that provides `Service`, `PeerBuilder` and `Runtime` to the user's
/// crate: erpc-peer itself or a runtime adapter that re-exports it.
fn peer_crate() -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    for name in ["erpc-runtime-tokio", "erpc-runtime-async-std", "erpc-peer"] {
        match crate_name(name) {
            Ok(FoundCrate::Itself) => return quote!(crate),
            Ok(FoundCrate::Name(n)) => {
                let id = format_ident!("{}", n);
                return quote!(::#id);
            }
            Err(_) => {}
        }
    }
    quote!(::erpc_peer)
}

fn expand(imp: ItemImpl, prefix: Option<String>) -> syn::Result<proc_macro2::TokenStream> {
    let krate = peer_crate();
    let self_ty = &imp.self_ty;
    let type_name = prefix.unwrap_or_else(|| last_ident(self_ty).unwrap_or_default());
    let mut regs = Vec::new();
    for item in &imp.items {
        let ImplItem::Fn(f) = item else { continue };
        if f.sig.asyncness.is_none() {
            continue;
        }
        let inputs: Vec<&FnArg> = f.sig.inputs.iter().collect();
        if !matches!(inputs.first(), Some(FnArg::Receiver(_))) || inputs.len() != 3 {
            continue;
        }
        let FnArg::Typed(ctx) = inputs[1] else {
            continue;
        };
        let kind = last_ident(&ctx.ty);
        let method = &f.sig.ident;
        let name = go_name(&method.to_string());
        let call = format_ident!("call");
        let push = format_ident!("push");
        let reg = match kind.as_deref() {
            Some("CallCtx") => &call,
            Some("PushCtx") => &push,
            _ => continue,
        };
        regs.push(quote! {
            let route = builder.route(#type_name, #name);
            let this = ::std::sync::Arc::clone(&self);
            let builder = builder.#reg(&route, move |ctx, arg| {
                let this = ::std::sync::Arc::clone(&this);
                async move { this.#method(ctx, arg).await }
            });
        });
    }
    if regs.is_empty() {
        return Err(syn::Error::new_spanned(
            self_ty,
            "#[service] found no `async fn(&self, CallCtx | PushCtx, Arg)` method to register",
        ));
    }
    let (ig, tg, wc) = imp.generics.split_for_impl();
    Ok(quote! {
        #imp

        impl #ig #krate::__private::Service for #self_ty #tg #wc {
            fn register<R: #krate::__private::Runtime>(
                self: ::std::sync::Arc<Self>,
                builder: #krate::__private::PeerBuilder<R>,
            ) -> #krate::__private::PeerBuilder<R> {
                #(#regs)*
                builder
            }
        }
    })
}
