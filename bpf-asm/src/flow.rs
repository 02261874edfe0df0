//! Control-flow and register checks (SYNTAX.md checks 4 to 6).

use crate::encode::Encoded;
use crate::error::Error;

/// Checks the encoded program's control flow and register use.
pub fn check<S: Copy>(_encoded: &Encoded<S>) -> Vec<Error<S>> {
    Vec::new()
}
