//! Tunables of the machine in one place: address-space layout, quanta, virtual-time rates
//! and the fixed identity a guest sees. Values follow Linux x86_64 defaults where a guest
//! could notice (page size, stack size) and are otherwise our choice, fixed for determinism.

/// Guest page size (Linux on all three arches we run; AT_PAGESZ).
pub const PAGE_SIZE: u64 = 4096;

/// Top of the initial stack (exclusive) and its mapped size. Linux puts the stack just
/// below 2^47 and lets it grow to RLIMIT_STACK (8 MiB by default); we map it whole.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
pub const STACK_SIZE: u64 = 8 << 20;
/// The part of the stack mapped at exec; the rest is mapped as the stack grows into it.
pub const STACK_INITIAL: u64 = 128 << 10;
/// The stack grows by at least this much at a time (down to the faulting page, or further).
pub const STACK_GROW: u64 = 64 << 10;

/// The page holding the sigreturn trampoline of arches whose signal frames return through
/// one (aarch64 and riscv64 Linux use the vDSO's; glass maps this page instead).
pub const SIGTRAMP_ADDR: u64 = STACK_TOP - STACK_SIZE - 2 * PAGE_SIZE;

/// Where anonymous and file mmaps are placed when the guest gives no address: top-down
/// from just below the stack's 8 MiB reservation plus a gap, as Linux's legacy-free layout.
pub const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (128 << 20);
/// Lowest address mmap placement may use.
pub const MMAP_BOTTOM: u64 = 0x1000_0000;

/// Load base for static-PIE (ET_DYN) programs: Linux's ELF_ET_DYN_BASE on x86_64
/// (2/3 of TASK_SIZE, page aligned).
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Translated-code buffer per engine (unicorn's UC_CTL_TCG_BUFFER_SIZE).
pub const TCG_BUFFER_BYTES: u32 = 32 << 20;

/// The most a signal frame takes below the stack pointer on any arch (aarch64's rt_sigframe
/// with its FPSIMD record and the red zone is under 5 KiB; x86_64's with the FP state under
/// 2 KiB): what delivery makes sure is mapped on a growing stack.
pub const SIGFRAME_MAX: u64 = 16 * 1024;

/// Scheduler quantum, in translated blocks of guest work.
pub const QUANTUM_BLOCKS: u64 = 200_000;

/// The fair share of the machine thread for /proc work while a guest can run (share.rs):
/// one nanosecond of /proc service per PROC_SHARE_DIV nanoseconds of other work, so /proc
/// takes at most 1/(PROC_SHARE_DIV + 1) of the machine thread; at most PROC_CREDIT_MAX_NS
/// saved up (a burst); each request charged at least PROC_REQUEST_MIN_NS (the host work it
/// causes off the machine thread: connection threads, socket, encoding; a whole `status`
/// round trip takes about 18 µs on the 2-core development machine).
pub const PROC_SHARE_DIV: i64 = 2;
pub const PROC_CREDIT_MAX_NS: i64 = 2_000_000;
pub const PROC_REQUEST_MIN_NS: i64 = 20_000;

/// Virtual time: nanoseconds per block of guest work executed, and per system call.
pub const NS_PER_BLOCK: u64 = 5;
pub const NS_PER_SYSCALL: u64 = 100;

/// Wall-clock value of virtual time zero: 2025-01-01T00:00:00Z.
pub const EPOCH_BASE_SECS: u64 = proc_model::machine::GLASS_EPOCH_SECS as u64;

/// The machine's fixed identity (uname(2)).
pub const UTS_SYSNAME: &str = "Linux";
pub const UTS_NODENAME: &str = "glass";
pub const UTS_RELEASE: &str = "6.1.0-glass";
pub const UTS_VERSION: &str = "#1 SMP PREEMPT_DYNAMIC glass";
pub const UTS_DOMAINNAME: &str = "(none)";

/// The machine's memory as sysinfo(2) and /proc/meminfo report it: total and free bytes
/// (fixed, so every host shows the same; guest memory is not really bounded by it).
pub const MEM_TOTAL: u64 = 1 << 30;
pub const MEM_FREE: u64 = 1 << 29;

/// The guest's user: root, as in a container.
pub const GUEST_UID: u32 = 0;
pub const GUEST_GID: u32 = 0;

/// The first process's pid.
pub const INIT_PID: u32 = 1;

/// Default environment given to the first program.
pub const DEFAULT_ENV: &[&str] = &["PATH=/bin:/usr/bin", "HOME=/", "TERM=dumb"];

/// Resource limits reported by getrlimit/prlimit64 (soft, hard).
pub const RLIMIT_STACK: (u64, u64) = (STACK_SIZE, u64::MAX);
pub const RLIMIT_NOFILE: (u64, u64) = (1024, 4096);
/// Number of resource limits (Linux RLIM_NLIMITS, asm-generic/resource.h).
pub const RLIM_NLIMITS: usize = 16;

/// The limits a first process starts with: RLIMIT_STACK (3) and RLIMIT_NOFILE (7) as above,
/// every other one unlimited.
pub fn default_rlimits() -> [(u64, u64); RLIM_NLIMITS] {
    let mut l = [(u64::MAX, u64::MAX); RLIM_NLIMITS];
    l[3] = RLIMIT_STACK;
    l[7] = RLIMIT_NOFILE;
    l
}

/// Longest path accepted (Linux PATH_MAX, include/uapi/linux/limits.h).
pub const PATH_MAX: usize = 4096;

/// Highest fd number a process may use (RLIMIT_NOFILE's soft limit).
pub const MAX_FDS: i32 = 1024;
/// The most RLIMIT_NOFILE may be raised to (Linux fs.nr_open's default, 1024*1024).
pub const NR_OPEN: u64 = 1 << 20;

/// Timestamps of files from the host root, seconds since the epoch: fixed so `stat` is the
/// same on every host (2025-01-01).
pub const FILE_TIME: i64 = EPOCH_BASE_SECS as i64;

/// Most iovec entries one readv/writev takes (Linux UIO_MAXIOV).
pub const IOV_MAX: u64 = 1024;

/// Signals a guest can name (Linux _NSIG on x86_64, arm64 and riscv64).
pub const NSIG: usize = 64;

/// The profiling clock (ctl `profile`): one sample of the user pc per millisecond of virtual
/// time, as 9front's profclock runs at each clock tick (HZ 1000 gives 1 ms).
pub const PROFILE_TICK_NS: u64 = 1_000_000;
