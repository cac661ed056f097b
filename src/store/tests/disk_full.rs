//! A full disk, from the kernel: ENOSPC on a small tmpfs (when this process may mount
//! one) and EFBIG under RLIMIT_FSIZE (in a child process, through `prlimit`). Either way
//! the commit fails with [`CommitError::DiskFull`], nothing durable is lost, and the log
//! goes on once there is room.

use std::process::Command;

use super::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(TempDir);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Option<Self> {
        let dir = TempDir::new(name);
        std::fs::create_dir_all(dir.path()).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(Self(dir)),
            _ => None,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// Commits batches of eight 1000-byte records until one fails; returns the records that
/// were committed and the error.
async fn fill(log: &mut Log) -> (Vec<Seen>, CommitError) {
    let mut durable = Vec::new();
    for round in 0..10_000 {
        let batch = append_all(log, (0..8).map(|i| payload(round * 8 + i, 1000)));
        let (before, end) = (log.durable_lsn(), log.next_lsn());
        match log.commit().await {
            Ok(lsn) => {
                assert_eq!(lsn, end);
                durable.extend(batch);
            }
            Err(e) => {
                assert_eq!(e.lost(), Some(before..end), "{e}");
                return (durable, e);
            }
        }
    }
    panic!("the disk never filled");
}

#[test]
fn a_full_tmpfs_fails_the_commit_and_keeps_what_was_durable() {
    on_both_backends(|backend| async move {
        let Some(mount) = Tmpfs::mount(&format!("tmpfs-{backend}"), "256k") else {
            eprintln!("cannot mount a tmpfs here; the RLIMIT_FSIZE test covers a full disk");
            return;
        };
        let dir = shard_dir(mount.0.path(), 0);
        let config = config(64 * 1024, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(&dir, &config).await;
        let (durable, error) = fill(&mut log).await;
        let CommitError::DiskFull { source, .. } = &error else {
            panic!("expected DiskFull, got {error:?}");
        };
        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{source}");
        assert!(durable.len() > 100, "{} records fitted", durable.len());
        assert!(!log.is_poisoned());
        assert_eq!(
            log.next_lsn(),
            log.durable_lsn(),
            "the failed batch was discarded"
        );
        // Still full: the next commit fails the same way.
        append_all(&mut log, vec![payload(0, 1000); 8]);
        assert!(matches!(
            log.commit().await,
            Err(CommitError::DiskFull { .. })
        ));
        drop(log);

        let (mut log, stats, seen) = reopen(&dir, &config).await;
        assert_eq!(seen, durable);
        assert_eq!((stats.corrupt_records, stats.truncated_bytes), (0, 0));

        // Releasing old segments makes room, and the log goes on.
        assert!(log.release_before(log.next_lsn()).await.unwrap() > 0);
        let more = append_all(&mut log, vec![payload(1, 1000); 8]);
        log.commit().await.unwrap();
        drop(log);
        let (_, _, seen) = reopen(&dir, &config).await;
        assert_eq!(seen[seen.len() - 8..], more[..]);
    });
}

const CHILD: &str = "SWITCHYARD_STORE_FSIZE_CHILD";

#[test]
fn the_file_size_limit_fails_the_commit_and_keeps_what_was_durable() {
    if std::env::var_os(CHILD).is_some() {
        return file_size_child();
    }
    let exe = std::env::current_exe().unwrap();
    let test =
        "store::tests::disk_full::the_file_size_limit_fails_the_commit_and_keeps_what_was_durable";
    let output = match Command::new("prlimit")
        .arg(format!("--fsize={}", 48 * 1024))
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("no prlimit here ({e}); the tmpfs test covers a full disk");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// In the child, under RLIMIT_FSIZE = 48 KiB: a segment cannot grow past it.
fn file_size_child() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: ignoring a signal installs no handler code; the write then fails with EFBIG.
    unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) }.unwrap();
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("fsize-{backend}"));
        let config = config(1024 * 1024, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(dir.path(), &config).await;
        let (durable, error) = fill(&mut log).await;
        let CommitError::DiskFull { source, .. } = &error else {
            panic!("expected DiskFull, got {error:?}");
        };
        assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge, "{source}");
        assert!(durable.len() >= 40, "{} records fitted", durable.len());
        let len = std::fs::metadata(segment::path(dir.path(), Lsn::new(0)))
            .unwrap()
            .len();
        assert_eq!(
            len,
            log.durable_lsn().get() + 24,
            "the partial write was cut off"
        );
        drop(log);
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen, durable);
        assert_eq!((stats.corrupt_records, stats.truncated_bytes), (0, 0));
    });
}
