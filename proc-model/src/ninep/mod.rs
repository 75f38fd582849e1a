//! 9P2000 (Plan 9 manual section 5): codec, sans-IO server core and transports.

pub mod fs;
