//! Examples and integration tests of the workspace; no library code.
