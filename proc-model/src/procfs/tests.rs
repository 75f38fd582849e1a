//! Tests of the /proc tree over the fake machine.
