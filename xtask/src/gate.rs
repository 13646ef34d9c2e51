//! The sys crate's generated transport goes behind its `client` feature.
//!
//! progenitor generates one file: the `types` module and, around it, a client that sends with
//! reqwest through progenitor-client (`Client`, its request builders, `prelude`, and
//! progenitor-client's `Error`, `ResponseValue`, … re-exported). `atlas-migration` sends with
//! its own transport and uses only the types, so every item outside `types` is compiled only
//! with the sys crate's `client` feature, and progenitor-client stays out of the dependency
//! tree of everyone who does not ask for it.

use crate::{Error, Result};

/// The sys crate's feature that compiles the generated transport.
pub const CLIENT_FEATURE: &str = "client";

/// Puts `#[cfg(feature = "client")]` on every top-level item of the generated sys file except
/// the `types` module. An output without exactly one `types` module is an error: the split
/// would otherwise hide the types or ship the transport unconditionally.
pub fn gate_transport(file: &mut syn::File) -> Result<()> {
    let mut types_modules = 0;
    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && module.ident == "types"
        {
            types_modules += 1;
            continue;
        }
        let gate: syn::Attribute = syn::parse_quote!(#[cfg(feature = #CLIENT_FEATURE)]);
        attributes(item)?.push(gate);
    }
    if types_modules != 1 {
        return Err(Error::new(format!(
            "progenitor's output has {types_modules} `types` modules, not one; \
             update gate::gate_transport"
        )));
    }
    Ok(())
}

fn attributes(item: &mut syn::Item) -> Result<&mut Vec<syn::Attribute>> {
    use syn::Item;
    Ok(match item {
        Item::Const(item) => &mut item.attrs,
        Item::Enum(item) => &mut item.attrs,
        Item::ExternCrate(item) => &mut item.attrs,
        Item::Fn(item) => &mut item.attrs,
        Item::ForeignMod(item) => &mut item.attrs,
        Item::Impl(item) => &mut item.attrs,
        Item::Macro(item) => &mut item.attrs,
        Item::Mod(item) => &mut item.attrs,
        Item::Static(item) => &mut item.attrs,
        Item::Struct(item) => &mut item.attrs,
        Item::Trait(item) => &mut item.attrs,
        Item::TraitAlias(item) => &mut item.attrs,
        Item::Type(item) => &mut item.attrs,
        Item::Union(item) => &mut item.attrs,
        Item::Use(item) => &mut item.attrs,
        _ => {
            return Err(Error::new(
                "progenitor's output has a top-level item syn does not model (verbatim \
                 tokens); update gate::gate_transport",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gated(code: &str) -> Result<String> {
        let mut file: syn::File = syn::parse_str(code).unwrap();
        gate_transport(&mut file)?;
        Ok(prettyplease::unparse(&file))
    }

    #[test]
    fn everything_but_the_types_module_needs_the_client_feature() {
        let code = gated(
            "pub use progenitor_client::Error;\n\
             pub mod types { pub struct Thing; }\n\
             pub struct Client;\n\
             impl Client { pub fn new() -> Self { Client } }\n\
             pub mod prelude { pub use super::Client; }\n",
        )
        .unwrap();
        let gate = "#[cfg(feature = \"client\")]";
        assert_eq!(code.matches(gate).count(), 4, "{code}");
        let types = code.find("pub mod types").unwrap();
        assert!(!code[..types].trim_end().ends_with(gate), "{code}");
        assert!(
            code.contains(&format!("{gate}\npub struct Client;")),
            "{code}"
        );
    }

    #[test]
    fn an_output_without_a_types_module_is_an_error() {
        let error = gated("pub struct Client;").unwrap_err();
        assert!(error.message().contains("0 `types` modules"), "{error}");
    }
}
