//! AFL++ target: arbitrary bytes as a sequence of frames through the sans-IO 9P2000 server
//! over an in-memory tree (layout in proc_model::ninep::fuzzing::session); panics when a
//! request is not answered exactly once with its tag, a reply exceeds msize or does not
//! round-trip, or fids outlive the session.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        proc_model::ninep::fuzzing::session(data);
    });
}
