//! PURE: a secret value (token, password-bearing URL) that never appears in `Debug` or logs.
//! Below every layer that holds one: configuration, the store, alert rules, HTTP auth.

use std::fmt;

/// A secret (token, password-bearing URL) that never appears in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must compare or use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
