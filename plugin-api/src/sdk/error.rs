//! The error type plugins return; only its message crosses the boundary.

use std::fmt;

/// An error with a message for the user; any `std::error::Error` converts into it.
#[derive(Debug)]
pub struct Error(String);

/// A result whose error is a plugin's [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self(message.to_string())
    }

    /// Prefixes the message with what was being done, e.g. the file being read.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self(format!("{context}: {}", self.0))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// `.context(..)` on any result whose error converts into [`Error`].
pub trait ErrorContext<T> {
    /// Prefixes an error's message with what was being done.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// The same, with the prefix made only when there is an error.
    fn with_context<D: fmt::Display>(self, context: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Into<Error>> ErrorContext<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<D: fmt::Display>(self, context: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_message() {
        let r: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(
            r.context("reading a.json").unwrap_err().to_string(),
            "reading a.json: gone"
        );
    }
}
