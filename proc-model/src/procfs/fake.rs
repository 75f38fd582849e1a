//! A small in-crate machine for the /proc tree tests (filled in below).
