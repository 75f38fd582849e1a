//! Many processes in one deterministic machine: pipelines and races under the scheduler,
//! chaos scheduling with `--sched-seed` and `glass explore`, a 1,000-process fork tree, and
//! the deadlock report.

use glass_tests::{guest_root, run_glass};

fn root() -> String {
    let r = guest_root();
    assert!(
        r.join("bin/busybox").exists(),
        "{} missing: run tools/scripts/setup.sh",
        r.display()
    );
    r.display().to_string()
}

/// Two subshells racing to write the same pipe (the shell's stdout is glass's stdout).
const RACE: &str =
    "( for i in 1 2 3 4; do echo a$i; done ) & ( for i in 1 2 3 4; do echo b$i; done ) & wait";

#[test]
fn race_same_sched_seed_twenty_runs_identical() {
    let root = root();
    let first = run_glass(&[
        "run",
        "--root",
        &root,
        "--sched-seed",
        "7",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        RACE,
    ]);
    assert!(first.status.success());
    let lines = String::from_utf8_lossy(&first.stdout).lines().count();
    assert_eq!(
        lines,
        8,
        "all eight lines arrive: {:?}",
        String::from_utf8_lossy(&first.stdout)
    );
    for _ in 0..19 {
        let o = run_glass(&[
            "run",
            "--root",
            &root,
            "--sched-seed",
            "7",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            RACE,
        ]);
        assert_eq!(o.stdout, first.stdout);
    }
}

#[test]
fn race_different_sched_seeds_give_different_interleavings() {
    let root = root();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let s = seed.to_string();
        let o = run_glass(&[
            "run",
            "--root",
            &root,
            "--sched-seed",
            &s,
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            RACE,
        ]);
        assert!(o.status.success());
        let mut sorted: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        seen.insert(sorted.join(","));
        sorted.sort();
        // Whatever the order, the same eight lines.
        assert_eq!(sorted.join(","), "a1,a2,a3,a4,b1,b2,b3,b4");
    }
    assert!(
        seen.len() >= 2,
        "only one interleaving in 12 seeds: {seen:?}"
    );
}

#[test]
fn explore_finds_schedule_dependent_output() {
    let root = root();
    let o = run_glass(&[
        "explore",
        "--root",
        &root,
        "--seeds",
        "12",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        RACE,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // The replay hint carries every option given (the root too) and the seed to replay.
    let hint = out
        .lines()
        .find_map(|l| l.split_once("replay one with: "))
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    assert!(
        out.contains("distinct outcome(s)")
            && hint.starts_with(&format!("glass run --root={root} --sched-seed="))
            && hint.contains(" -- /bin/busybox sh -c '"),
        "{out}"
    );
    // A program whose output does not depend on the schedule: one outcome, exit 0.
    let o = run_glass(&[
        "explore",
        "--root",
        &root,
        "--seeds",
        "5",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "echo x | cat | cat",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("5 seeds, 1 distinct outcome(s)"));
}

#[test]
fn forktree_thousand_processes_complete() {
    let root = root();
    let o = run_glass(&["run", "--root", &root, "--", "/bin/forktree", "1000"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "forktree: 1000 processes reported, all exited 0\n"
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn deadlock_reported_and_nonzero_exit() {
    let root = root();
    let o = run_glass(&["run", "--root", &root, "--", "/bin/deadlock"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("glass: deadlock: every process is blocked forever"),
        "{err}"
    );
    assert!(err.contains("pid 1 (deadlock): reading pipe:[1]"), "{err}");
    assert!(err.contains("pid 2 (deadlock): reading pipe:[2]"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn pipeline_and_exit_statuses() {
    let root = root();
    let o = run_glass(&[
        "run", "--root", &root, "--", "/bin/busybox", "sh", "-c",
        "seq 1 50 | sort -rn | head -3 | tr '\\n' ' '; echo; (exit 3); echo $?; sh -c 'kill -TERM $$'; echo $?",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "50 49 48 \n3\n143\n");
    assert!(o.status.success());
}
