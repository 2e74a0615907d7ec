//! Audit trails (JSON✯Atomic) for obspec.
