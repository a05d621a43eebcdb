//! Identifiers: store, SKU. Validated on construction so a bad id never reaches a key.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;

fn check_token(what: &'static str, s: &str, max: usize) -> Result<(), CoreError> {
    if s.is_empty() {
        return Err(CoreError::invalid(what, "must not be empty"));
    }
    if s.len() > max {
        return Err(CoreError::invalid(
            what,
            format!("{:?} is longer than {max} characters", s),
        ));
    }
    // '#' and ':' are key separators in both stores; whitespace and control characters are never
    // part of an id.
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '#' || *c == ':')
    {
        return Err(CoreError::invalid(
            what,
            format!("{s:?} contains the character {c:?}"),
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, CoreError> {
                let s = s.into();
                check_token($what, &s, $max)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = CoreError;
            fn try_from(s: String) -> Result<Self, CoreError> {
                Self::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// The store Otto operates (one Shopify shop + its ad accounts), e.g. `brevard-eu`.
    StoreId,
    "store id",
    64
);
id_type!(
    /// A stock keeping unit, the business key of a variant, e.g. `SKU-LIN-228-SND-L`.
    Sku,
    "SKU",
    128
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_separators_and_blanks() {
        assert!(Sku::new("SKU-LIN-007").is_ok());
        assert!(Sku::new("").is_err());
        assert!(Sku::new("a#b").is_err());
        assert!(StoreId::new("a:b").is_err());
        assert!(StoreId::new("a b").is_err());
        let err = serde_json::from_str::<Sku>("\"x#1\"").unwrap_err();
        assert!(err.to_string().contains("SKU"), "{err}");
    }
}
