//! Serve a small static file tree over 9P2000 (intro(5)) on a real socket, for trying
//! outside clients against the Glass 9P server.
//!
//! ```text
//! cargo run -p proc-model --example serve_static -- [ADDR]
//! ```
//! ADDR is `host:port` (default 127.0.0.1:5640) or `unix:PATH`. Then, for example:
//! `build/venv/python-9p/bin/python tests/interop/python9p_client.py 127.0.0.1:5640 ls /`.

use proc_model::ninep::memtree::MemTree;
use proc_model::ninep::transport::DEFAULT_TCP_ADDR;
use proc_model::ninep::{serve, ListenAddr};
use std::sync::Arc;

fn tree() -> MemTree {
    let mut t = MemTree::new("glenda");
    t.add_file(
        "README",
        0o444,
        "A static tree served by Glass's 9P2000 server.\n",
    )
    .add_file("dir/hello", 0o444, "hello, world\n")
    .add_file("dir/sub/deep", 0o444, "deep\n")
    .add_file("rw", 0o666, "")
    .add_file(
        "big",
        0o444,
        (0..100_000u32)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    t
}

fn main() {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_TCP_ADDR.to_string());
    let addr: ListenAddr = match arg.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("serve_static: {e}");
            std::process::exit(2);
        }
    };
    let server = match serve(Arc::new(tree()), &addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("serve_static: {e}");
            std::process::exit(1);
        }
    };
    println!("serving on {}", server.local_addr());
    loop {
        std::thread::park();
    }
}
