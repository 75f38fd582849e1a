//! Shared helpers for Glass's end-to-end tests in `tests/tests/`: where the workspace, the
//! `glass` binary, the default guest root and the built guest images are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The `glass` binary built beside this test executable (`cargo test --workspace` builds it),
/// or `$GLASS_BIN` when set.
pub fn glass_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GLASS_BIN") {
        return PathBuf::from(p);
    }
    // current_exe is target/<profile>/deps/<test>-<hash>; the binary is target/<profile>/glass.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("glass");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build -p glass-tools` or `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The default guest root made by the setup script: `build/root` (busybox with its applet
/// links in /bin, the x86_64 guest images in /bin, bundled data in /data).
pub fn guest_root() -> PathBuf {
    repo_root().join("build").join("root")
}

/// Built guest images for one arch: `build/guest/<arch>/<name>`.
pub fn guest_image(arch: &str, name: &str) -> PathBuf {
    repo_root()
        .join("build")
        .join("guest")
        .join(arch)
        .join(name)
}

/// Run `glass` with the given arguments (stdin empty) and return its output.
pub fn run_glass(args: &[&str]) -> Output {
    Command::new(glass_bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn glass")
}
