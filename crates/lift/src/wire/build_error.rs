//! [`BuildError`]: an app that could not be built. Routing finds most of them (a route
//! conflict, an invalid path), the app builder the rest.

use std::fmt;

/// An app that could not be built: a route conflict or an invalid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(String);

impl BuildError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        BuildError(msg.into())
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid app: {}", self.0)
    }
}

impl std::error::Error for BuildError {}
