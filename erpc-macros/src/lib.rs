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
//!
//! `#[service(blocking)]` is the form for `erpc-runtime-blocking`: its handlers are plain
//! `fn(&self, CallCtx | PushCtx, Arg)` methods (run on the adapter's worker pool), and its
//! typed client's methods block.
//!
//! `#[bind]` on a call method registers it with `call_bound` (Go's binder, feature
//! `binder`): its argument type derives `Bind`, and its rules are checked before the method
//! runs (`400 Invalid Parameter` otherwise). On a push method it is a compile error.
//!
//! # Typed clients
//!
//! For a non-generic `impl`, the macro also emits `<Type>Client` (here `MathClient`): a cheap
//! clone around a `Session` with one method per handler, taking the handler's argument type
//! and returning its reply type, at the same routes:
//!
//! ```ignore
//! let math = MathClient::new(session);               // Go's default HTTP-style mapper
//! let sum: i64 = math.add(&vec![1, 2, 3]).await?;    // CALL /math/add
//! let math = MathClient::with_mapper(math.session().clone(), Mapper::Rpc); // Math.Add (erpc_runtime_tokio::Mapper)
//! ```
//!
//! A call handler returning `Result<T, _>` or `Result<Response<T>, _>` gives a client method
//! returning `Result<T, Status>`; any other return type gives a method generic over the reply
//! type. A push handler gives a method that pushes (`Result<(), Status>`, `Ok` once queued).
//! The handler's doc comments are copied onto the client's methods.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{
    parse_macro_input, FnArg, GenericArgument, ImplItem, ItemImpl, LitStr, PathArguments,
    ReturnType, Type,
};

mod bind;

/// Go eRPC's binder rules (`plugin/binder`'s `param` tag) as field attributes: binds meta and
/// swap values into the fields of a call's argument and validates them (see erpc-peer's
/// `binder` module for the rules, the statuses, and the differences from Go).
///
/// ```ignore
/// #[derive(serde::Deserialize, erpc_peer::Bind)]
/// struct Args {
///     #[param(len(3, 8), desc = "user name")]
///     name: String,
///     #[param(range(1, 120))]
///     age: isize,
///     #[param(regexp = "^[a-z]+@[a-z.]+$")]
///     email: String,
///     #[serde(skip)]
///     #[param(meta = "token", nonzero, stat(100401, "token is required"))]
///     token: String,
/// }
/// ```
///
/// A rule on a field type it does not fit, an invalid regular expression, or an unknown rule
/// does not compile.
#[proc_macro_derive(Bind, attributes(param))]
pub fn derive_bind(item: TokenStream) -> TokenStream {
    let input = parse_macro_input!(item as syn::DeriveInput);
    bind::derive(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The crate path for `#[derive(Bind)]`: erpc-peer (which has the binder) or an adapter that
/// re-exports its `__private`.
fn bind_crate() -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    for name in [
        "erpc-peer",
        "erpc-runtime-tokio",
        "erpc-runtime-async-std",
        "erpc-runtime-blocking",
    ] {
        match crate_name(name) {
            Ok(FoundCrate::Itself) => {
                let id = format_ident!("{}", name.replace('-', "_"));
                return quote!(::#id);
            }
            Ok(FoundCrate::Name(n)) => {
                let id = format_ident!("{}", n);
                return quote!(::#id);
            }
            Err(_) => {}
        }
    }
    quote!(::erpc_peer)
}

/// Registers the `async fn`s of an `impl` block as eRPC handlers. See the crate docs.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut prefix: Option<String> = None;
    let mut blocking = false;
    if !attr.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("prefix") {
                let s: LitStr = meta.value()?.parse()?;
                prefix = Some(s.value());
                Ok(())
            } else if meta.path.is_ident("blocking") {
                blocking = true;
                Ok(())
            } else {
                Err(meta.error("expected `prefix = \"...\"` or `blocking`"))
            }
        });
        parse_macro_input!(attr with parser);
    }
    let imp = parse_macro_input!(item as ItemImpl);
    match expand(imp, prefix, blocking) {
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
/// crate: erpc-peer itself or a runtime adapter that re-exports it (erpc-runtime-blocking
/// for `#[service(blocking)]`).
fn peer_crate(blocking: bool) -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    let names: &[&str] = if blocking {
        &["erpc-runtime-blocking"]
    } else {
        &["erpc-runtime-tokio", "erpc-runtime-async-std", "erpc-peer"]
    };
    for &name in names {
        match crate_name(name) {
            // The adapters never use the macro in their own library code, only in doctests,
            // which are crates of their own that depend on the library: name it.
            Ok(FoundCrate::Itself) => {
                let id = format_ident!("{}", name.replace('-', "_"));
                return quote!(::#id);
            }
            Ok(FoundCrate::Name(n)) => {
                let id = format_ident!("{}", n);
                return quote!(::#id);
            }
            Err(_) => {}
        }
    }
    if blocking {
        quote!(::erpc_runtime_blocking)
    } else {
        quote!(::erpc_peer)
    }
}

/// The first generic argument of the last segment of `ty` if that segment is named `outer`.
fn generic_of<'a>(ty: &'a Type, outer: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != outer {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The reply type a client of a call handler returning `output` decodes: `T` of
/// `Result<T, _>` or `Result<Response<T>, _>`; `None` when the shape is another.
fn reply_type(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let ok = generic_of(ty, "Result")?;
    Some(generic_of(ok, "Response").unwrap_or(ok))
}

fn expand(
    mut imp: ItemImpl,
    prefix: Option<String>,
    blocking: bool,
) -> syn::Result<proc_macro2::TokenStream> {
    let krate = peer_crate(blocking);
    // `#[bind]` on a call method: its argument is bound and validated first (the binder's
    // `call_bound`); the attribute is the macro's, so it is taken off the method.
    let mut bound = std::collections::HashSet::new();
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let before = f.attrs.len();
        f.attrs.retain(|a| !a.path().is_ident("bind"));
        if f.attrs.len() != before {
            bound.insert(f.sig.ident.to_string());
        }
    }
    let self_ty = &imp.self_ty;
    let type_name = prefix.unwrap_or_else(|| last_ident(self_ty).unwrap_or_default());
    let mut regs = Vec::new();
    // The typed client: one method per handler, each with the index of its route.
    let mut client_methods = Vec::new();
    let mut client_routes = Vec::new();
    for item in &imp.items {
        let ImplItem::Fn(f) = item else { continue };
        // Async handlers for the async adapters, plain functions for the blocking one.
        if f.sig.asyncness.is_some() == blocking {
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
        let call_bound = format_ident!("call_bound");
        let is_bound = bound.contains(&method.to_string());
        let reg = match kind.as_deref() {
            Some("CallCtx") if is_bound => &call_bound,
            Some("CallCtx") => &call,
            Some("PushCtx") if is_bound => {
                return Err(syn::Error::new_spanned(
                    &f.sig,
                    "#[bind] binds the argument of a call handler, not of a push handler",
                ))
            }
            Some("PushCtx") => &push,
            _ => continue,
        };
        let FnArg::Typed(arg) = inputs[2] else {
            continue;
        };
        let arg_ty = &arg.ty;
        let docs: Vec<_> = f
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        let index = client_routes.len();
        client_routes.push(quote! { mapper.map(&group, #name) });
        let (asyncness, wait) = if blocking {
            (quote!(), quote!())
        } else {
            (quote!(async), quote!(.await))
        };
        client_methods.push(if reg == &push {
            quote! {
                #(#docs)*
                pub #asyncness fn #method(&self, arg: &#arg_ty) -> ::std::result::Result<(), #krate::__private::Status> {
                    self.session.push(&self.routes[#index], arg) #wait
                }
            }
        } else if let Some(reply) = reply_type(&f.sig.output) {
            quote! {
                #(#docs)*
                pub #asyncness fn #method(&self, arg: &#arg_ty) -> ::std::result::Result<#reply, #krate::__private::Status> {
                    self.session.call(&self.routes[#index], arg) #wait
                }
            }
        } else {
            quote! {
                #(#docs)*
                pub #asyncness fn #method<O: #krate::__private::DecodeBody>(&self, arg: &#arg_ty) -> ::std::result::Result<O, #krate::__private::Status> {
                    self.session.call(&self.routes[#index], arg) #wait
                }
            }
        });
        regs.push(if blocking {
            quote! {
                let route = builder.route(#type_name, #name);
                let this = ::std::sync::Arc::clone(&self);
                let builder = builder.#reg(&route, move |ctx, arg| this.#method(ctx, arg));
            }
        } else {
            quote! {
                let route = builder.route(#type_name, #name);
                let this = ::std::sync::Arc::clone(&self);
                let builder = builder.#reg(&route, move |ctx, arg| {
                    let this = ::std::sync::Arc::clone(&this);
                    async move { this.#method(ctx, arg).await }
                });
            }
        });
    }
    if regs.is_empty() {
        let want = if blocking {
            "#[service(blocking)] found no `fn(&self, CallCtx | PushCtx, Arg)` method to register"
        } else {
            "#[service] found no `async fn(&self, CallCtx | PushCtx, Arg)` method to register"
        };
        return Err(syn::Error::new_spanned(self_ty, want));
    }
    let register = if blocking {
        quote! {
            impl #krate::__private::Service for #self_ty {
                fn register(
                    self: ::std::sync::Arc<Self>,
                    builder: #krate::__private::PeerBuilder,
                ) -> #krate::__private::PeerBuilder {
                    #(#regs)*
                    builder
                }
            }
        }
    } else {
        let (ig, tg, wc) = imp.generics.split_for_impl();
        quote! {
            impl #ig #krate::__private::Service for #self_ty #tg #wc {
                fn register<R: #krate::__private::Runtime>(
                    self: ::std::sync::Arc<Self>,
                    builder: #krate::__private::PeerBuilder<R>,
                ) -> #krate::__private::PeerBuilder<R> {
                    #(#regs)*
                    builder
                }
            }
        }
    };
    if blocking && !imp.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &imp.generics,
            "#[service(blocking)] does not take a generic impl",
        ));
    }
    // Generic services get no client: its type would need the service's parameters.
    let client = match last_ident(self_ty) {
        Some(ty) if imp.generics.params.is_empty() => {
            let client = format_ident!("{}Client", ty);
            let doc = format!(
                "Typed client of [`{ty}`]'s routes (made by `#[service]`): one method per handler, \
                 with its argument and reply types, over a session."
            );
            quote! {
                #[doc = #doc]
                #[derive(Clone, Debug)]
                pub struct #client {
                    session: #krate::__private::Session,
                    routes: ::std::sync::Arc<[::std::string::String]>,
                }

                impl #client {
                    /// A client of the routes Go's default (HTTP-style) mapper gives, over
                    /// `session`.
                    pub fn new(session: #krate::__private::Session) -> Self {
                        Self::with_mapper(session, #krate::__private::Mapper::Http)
                    }

                    /// A client of the routes `mapper` gives (the server's mapper, e.g.
                    /// `Mapper::Rpc` for a server built with `rpc_mapper()`).
                    pub fn with_mapper(
                        session: #krate::__private::Session,
                        mapper: #krate::__private::Mapper,
                    ) -> Self {
                        let group = mapper.map(&mapper.root(), #type_name);
                        let routes: ::std::vec::Vec<::std::string::String> = ::std::vec![#(#client_routes),*];
                        #client { session, routes: routes.into() }
                    }

                    /// The session the calls go over.
                    pub fn session(&self) -> &#krate::__private::Session {
                        &self.session
                    }

                    #(#client_methods)*
                }
            }
        }
        _ => quote! {},
    };
    Ok(quote! {
        #imp

        #client

        #register
    })
}
