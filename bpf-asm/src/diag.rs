//! The diagnostics sink every phase reports into (cxx's `Errors`): errors
//! are pushed as they are found, phases check whether they added any, and
//! the front end takes them all at the end, in source order.

use crate::check::Check;
use crate::error::Error;

/// Every error found so far.
#[derive(Debug)]
pub(crate) struct Diagnostics<S> {
    errors: Vec<Error<S>>,
}

/// A point in the sink, to ask later whether errors came after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint(usize);

impl<S> Default for Diagnostics<S> {
    fn default() -> Self {
        Diagnostics { errors: Vec::new() }
    }
}

impl<S> Diagnostics<S> {
    /// An empty sink.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reports `message` at `span`.
    pub(crate) fn push(&mut self, span: S, message: impl Into<String>) {
        self.errors.push(Error::new(span, message));
    }

    /// Reports `message` at `span`, found by `check`.
    pub(crate) fn push_check(&mut self, span: S, check: Check, message: impl Into<String>) {
        let mut e = Error::new(span, message);
        e.check = Some(check);
        self.errors.push(e);
    }

    /// Whether nothing has been reported.
    pub(crate) fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// The current point.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.errors.len())
    }

    /// Whether nothing was reported since `c`.
    pub(crate) fn clean_since(&self, c: Checkpoint) -> bool {
        self.errors.len() == c.0
    }

    /// Every error, ordered by `key` (source position), stable for equal
    /// keys so one statement's errors keep the order they were found in.
    pub(crate) fn into_sorted<K: Ord>(self, key: impl FnMut(&Error<S>) -> K) -> Vec<Error<S>> {
        let mut errors = self.errors;
        errors.sort_by_key(key);
        errors
    }
}
