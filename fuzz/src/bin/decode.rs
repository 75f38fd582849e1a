//! AFL++ target: arbitrary bytes through the 9P2000 codec (intro(5) framing, every T- and
//! R-message, directory entries); panics when a frame that decodes re-encodes differently.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        proc_model::ninep::fuzzing::codec(data);
    });
}
