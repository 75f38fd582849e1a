//! `glass 9p`: a small 9P client for people and scripts, after plan9port's 9p(1):
//! `glass 9p -a ADDR ls [-l] PATH | read PATH | write PATH [DATA…] | stat PATH`.

use crate::p9client::{mode_string, Client, Options};
use std::io::{Read, Write};
use std::process::ExitCode;

/// What `glass 9p` and `glass debug` share about reaching a server: how long to wait, and
/// the key to prove.
#[derive(clap::Args, Clone, Debug)]
pub struct ConnArgs {
    /// Give up when the server does not accept the connection or answer a request within
    /// SECS seconds (0: wait forever).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Authenticate with the shared key in KEYFILE (the server's `glass run --auth` key):
    /// answer its challenge through Tauth before attaching.
    #[arg(long, value_name = "KEYFILE")]
    auth: Option<std::path::PathBuf>,
}

impl ConnArgs {
    /// Client options, or why the key file cannot be used.
    pub fn options(&self) -> Result<Options, String> {
        let key = match &self.auth {
            Some(f) => Some(proc_model::ninep::AuthKey::load(f).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Options {
            timeout: (self.timeout > 0).then(|| std::time::Duration::from_secs(self.timeout)),
            key,
        })
    }
}

#[derive(clap::Args)]
pub struct NinepArgs {
    /// Server address: host:port for TCP, unix:PATH for a Unix socket (default $GLASS_ADDR,
    /// else 127.0.0.1:5640).
    #[arg(short = 'a', long = "addr", value_name = "ADDR")]
    addr: Option<String>,
    /// User name to attach as (default: the machine's owner, $USER).
    #[arg(short = 'u', long = "user", value_name = "NAME")]
    user: Option<String>,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(clap::Subcommand)]
enum Verb {
    /// List a directory (with -l: mode, owner, group, length, name).
    Ls {
        #[arg(short = 'l')]
        long: bool,
        path: String,
    },
    /// Copy a file to stdout (reads at increasing offsets until an empty read).
    Read { path: String },
    /// Write DATA (joined by spaces, as echo does; stdin if none) to a file in one message.
    Write {
        path: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        data: Vec<String>,
    },
    /// Print a file's stat record.
    Stat { path: String },
}

pub fn default_addr() -> String {
    std::env::var("GLASS_ADDR").unwrap_or_else(|_| crate::serve::DEFAULT_ADDR.to_string())
}

pub fn ninep(args: &NinepArgs) -> ExitCode {
    let addr = args.addr.clone().unwrap_or_else(default_addr);
    let user = args
        .user
        .clone()
        .unwrap_or_else(glass_emulator::machine::host_user);
    let opts = match args.conn.options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("glass 9p: --auth: {e}");
            return ExitCode::from(2);
        }
    };
    let mut c = match Client::connect_with(&addr, &user, &opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glass 9p: {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    let r = match &args.verb {
        Verb::Ls { long, path } => c.ls(path).map(|entries| {
            for e in entries {
                if *long {
                    println!(
                        "{} {:<8} {:<8} {:>8} {}",
                        mode_string(e.mode),
                        e.uid,
                        e.gid,
                        e.length,
                        e.name
                    );
                } else {
                    println!("{}", e.name);
                }
            }
        }),
        Verb::Read { path } => c.read_file(path).map(|d| {
            let _ = std::io::stdout().write_all(&d);
        }),
        Verb::Write { path, data } => {
            let bytes = if data.is_empty() {
                let mut b = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut b);
                b
            } else {
                data.join(" ").into_bytes()
            };
            c.write_file(path, 0, &bytes).map(|_| ())
        }
        Verb::Stat { path } => c.stat(path).map(|s| {
            println!(
                "'{}' '{}' '{}' '{}' q ({:016x} {} {:02x}) m {:#o} at {} mt {} l {} t {} d {}",
                s.name,
                s.uid,
                s.gid,
                s.muid,
                s.qid.path,
                s.qid.vers,
                s.qid.ty,
                s.mode,
                s.atime,
                s.mtime,
                s.length,
                s.ty,
                s.dev
            );
        }),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glass 9p: {e}");
            ExitCode::from(1)
        }
    }
}
