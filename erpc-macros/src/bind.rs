//! `#[derive(Bind)]`: Go eRPC's binder `param` rules as field attributes.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitInt, LitStr, Token};

/// One bound: its value (as Rust tokens) and its text as written (Go's reasons print it).
struct Bound {
    text: String,
    span: Span,
}

#[derive(Default)]
struct Rules {
    meta: Option<String>,
    swap: Option<String>,
    desc: String,
    len: Option<(Option<Bound>, Option<Bound>)>,
    range: Option<(Option<Bound>, Option<Bound>)>,
    nonzero: bool,
    regexp: Option<LitStr>,
    stat_code: i32,
    stat_msg: String,
    flatten: bool,
}

/// A number literal, maybe negative: its text.
fn number(input: ParseStream<'_>) -> syn::Result<Bound> {
    let span = input.span();
    let neg = input.peek(Token![-]);
    if neg {
        input.parse::<Token![-]>()?;
    }
    let lit: syn::Lit = input.parse()?;
    let digits = match &lit {
        syn::Lit::Int(i) => i.base10_digits().to_owned(),
        syn::Lit::Float(f) => f.base10_digits().to_owned(),
        _ => return Err(syn::Error::new(lit.span(), "expected a number")),
    };
    Ok(Bound {
        text: if neg { format!("-{digits}") } else { digits },
        span,
    })
}

/// `(a, b)`, `(a)`, `(min = a)`, `(max = b)`, `(min = a, max = b)`.
fn bounds(meta: &ParseNestedMeta<'_>) -> syn::Result<(Option<Bound>, Option<Bound>)> {
    let content;
    syn::parenthesized!(content in meta.input);
    let mut positional = Vec::new();
    let (mut min, mut max) = (None, None);
    while !content.is_empty() {
        if content.peek(syn::Ident) {
            let name: syn::Ident = content.parse()?;
            content.parse::<Token![=]>()?;
            let b = number(&content)?;
            match name.to_string().as_str() {
                "min" => min = Some(b),
                "max" => max = Some(b),
                _ => return Err(syn::Error::new(name.span(), "expected `min` or `max`")),
            }
        } else {
            positional.push(number(&content)?);
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    match positional.len() {
        0 => {}
        1 if min.is_none() && max.is_none() => {
            // Go's `<len:3>`: exactly 3.
            let b = positional.remove(0);
            let b2 = Bound {
                text: b.text.clone(),
                span: b.span,
            };
            return Ok((Some(b), Some(b2)));
        }
        2 if min.is_none() && max.is_none() => {
            let b = positional.pop();
            let a = positional.pop();
            return Ok((a, b));
        }
        _ => {
            return Err(meta.error("expected `(min, max)`, `(n)`, `(min = a)` or `(max = b)`"));
        }
    }
    if min.is_none() && max.is_none() {
        return Err(meta.error("a bound is required"));
    }
    Ok((min, max))
}

fn parse_rules(attrs: &[syn::Attribute]) -> syn::Result<Option<Rules>> {
    let mut rules: Option<Rules> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("param")) {
        let r = rules.get_or_insert_with(Rules::default);
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "meta" | "swap" => {
                    let v = if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<LitStr>()?.value()
                    } else {
                        String::new()
                    };
                    if key == "meta" {
                        r.meta = Some(v);
                    } else {
                        r.swap = Some(v);
                    }
                }
                "desc" => r.desc = meta.value()?.parse::<LitStr>()?.value(),
                "len" => r.len = Some(bounds(&meta)?),
                "range" => r.range = Some(bounds(&meta)?),
                "nonzero" => r.nonzero = true,
                "flatten" => r.flatten = true,
                "regexp" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if let Err(e) = regex_syntax::Parser::new().parse(&lit.value()) {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("invalid regular expression: {e}"),
                        ));
                    }
                    r.regexp = Some(lit);
                }
                "stat" => {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    if content.peek(LitInt) {
                        r.stat_code = content.parse::<LitInt>()?.base10_parse()?;
                        if content.peek(Token![,]) {
                            content.parse::<Token![,]>()?;
                            if !content.is_empty() {
                                r.stat_msg = content.parse::<LitStr>()?.value();
                            }
                        }
                    } else {
                        while !content.is_empty() {
                            let name: syn::Ident = content.parse()?;
                            content.parse::<Token![=]>()?;
                            match name.to_string().as_str() {
                                "code" => {
                                    r.stat_code = content.parse::<LitInt>()?.base10_parse()?
                                }
                                "msg" => r.stat_msg = content.parse::<LitStr>()?.value(),
                                _ => {
                                    return Err(syn::Error::new(
                                        name.span(),
                                        "expected `code` or `msg`",
                                    ))
                                }
                            }
                            if content.is_empty() {
                                break;
                            }
                            content.parse::<Token![,]>()?;
                        }
                    }
                    if !content.is_empty() {
                        return Err(content.error("unexpected tokens in `stat(..)`"));
                    }
                }
                _ => {
                    return Err(meta.error(
                        "unknown `param` rule (expected meta, swap, desc, len, range, nonzero, regexp, stat or flatten)",
                    ))
                }
            }
            Ok(())
        })?;
    }
    if let Some(r) = &rules {
        if r.meta.is_some() && r.swap.is_some() {
            return Err(syn::Error::new(
                attrs[0].span(),
                "a parameter comes from `meta` or `swap`, not both",
            ));
        }
    }
    Ok(rules)
}

fn len_bound(b: &Option<Bound>) -> syn::Result<TokenStream> {
    match b {
        None => Ok(quote!(::core::option::Option::None)),
        Some(b) => {
            let n: usize = b
                .text
                .parse()
                .map_err(|_| syn::Error::new(b.span, "a `len` bound is a non-negative integer"))?;
            let t = &b.text;
            Ok(quote!(::core::option::Option::Some((#n, #t))))
        }
    }
}

fn range_bound(b: &Option<Bound>) -> syn::Result<TokenStream> {
    match b {
        None => Ok(quote!(::core::option::Option::None)),
        Some(b) => {
            let n: f64 = b
                .text
                .parse()
                .map_err(|_| syn::Error::new(b.span, "a `range` bound is a number"))?;
            let t = &b.text;
            Ok(quote!(::core::option::Option::Some((#n, #t))))
        }
    }
}

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let peer = crate::bind_crate();
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`Bind` derives on structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`Bind` derives on structs with named fields",
        ));
    };
    let b = quote!(#peer::__private::binder);
    let mut steps = Vec::new();
    let mut params = Vec::new();
    for field in &fields.named {
        let Some(rules) = parse_rules(&field.attrs)? else {
            continue;
        };
        let ident = field.ident.clone().expect("named field");
        let ty = &field.ty;
        let span = ty.span();
        if rules.flatten {
            steps.push(quote_spanned! {span=>
                <#ty as #b::Bind>::bind(&mut self.#ident, __input)?;
            });
            params.push(quote_spanned! {span=>
                __params.extend(<#ty as #b::Bind>::params());
            });
            continue;
        }
        let field_name = ident.unraw().to_string();
        let (name, source) = match (&rules.meta, &rules.swap) {
            (Some(m), _) if !m.is_empty() => (m.clone(), quote!(Meta)),
            (Some(_), _) => (field_name, quote!(Meta)),
            (_, Some(s)) if !s.is_empty() => (s.clone(), quote!(Swap)),
            (_, Some(_)) => (field_name, quote!(Swap)),
            _ => (field_name, quote!(Body)),
        };
        let desc = &rules.desc;
        params.push(quote! {
            __params.push(#b::ParamInfo::new(#name, #b::ParamSource::#source, #desc));
        });
        let code = rules.stat_code;
        let msg = &rules.stat_msg;
        let mut body = Vec::new();
        if rules.meta.is_some() {
            body.push(quote_spanned! {span=>
                #b::__private::bind_meta::<#ty>(__input, #name, &mut self.#ident).map_err(&__fail)?;
            });
        }
        if rules.swap.is_some() {
            body.push(quote_spanned! {span=>
                #b::__private::bind_swap::<#ty>(__input, #name, &mut self.#ident);
            });
        }
        if let Some((min, max)) = &rules.len {
            let (min, max) = (len_bound(min)?, len_bound(max)?);
            body.push(quote_spanned! {span=>
                #b::__private::check_len::<#ty>(&self.#ident, #min, #max).map_err(&__fail)?;
            });
        }
        if let Some((min, max)) = &rules.range {
            let (min, max) = (range_bound(min)?, range_bound(max)?);
            body.push(quote_spanned! {span=>
                #b::__private::check_range::<#ty>(&self.#ident, #min, #max).map_err(&__fail)?;
            });
        }
        if rules.nonzero {
            body.push(quote_spanned! {span=>
                #b::__private::check_nonzero::<#ty>(&self.#ident).map_err(&__fail)?;
            });
        }
        if let Some(re) = &rules.regexp {
            let cell = format_ident!("__RE_{}", ident.unraw().to_string().to_uppercase());
            body.push(quote_spanned! {span=>
                static #cell: ::std::sync::OnceLock<::core::result::Result<#b::__private::Regex, ::std::string::String>> =
                    ::std::sync::OnceLock::new();
                #b::__private::check_regexp::<#ty>(&self.#ident, &#cell, #re).map_err(&__fail)?;
            });
        }
        steps.push(quote! {
            {
                let __fail = |__reason: ::std::string::String| {
                    #b::__private::fail(__input, #name, &__reason, #code, #msg)
                };
                #(#body)*
            }
        });
    }
    let name = &input.ident;
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_g #b::Bind for #name #ty_g #where_c {
            #[allow(non_upper_case_globals, unused_variables, clippy::redundant_closure)]
            fn bind(&mut self, __input: &#b::BindInput<'_>) -> ::core::result::Result<(), #peer::Status> {
                #(#steps)*
                ::core::result::Result::Ok(())
            }

            fn params() -> ::std::vec::Vec<#b::ParamInfo> {
                #[allow(unused_mut)]
                let mut __params = ::std::vec::Vec::new();
                #(#params)*
                __params
            }
        }
    })
}
