//! Scenario tests of the durable log on real files, on both I/O backends: round trip,
//! rollover, torn tails, damaged records, release of old segments, the split commit.

mod disk_full;
mod recovery;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::IoBackend;
use crate::server::driver::build_runtime;

/// A record as replay saw it.
type Seen = (Lsn, u8, Vec<u8>);

fn kind(k: u8) -> RecordKind {
    RecordKind::new(k).unwrap()
}

fn config(segment_size: u64, fsync: FsyncPolicy) -> StoreConfig {
    StoreConfig {
        enabled: true,
        fsync,
        segment_size,
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "switchyard-store-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `test` on the polling driver and, where it can be set up, on io_uring.
fn on_both_backends<F, Fut>(test: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for (backend, name) in [
        (IoBackend::Portable, "polling"),
        (IoBackend::Uring, "uring"),
    ] {
        match build_runtime(backend) {
            Ok(runtime) => runtime.block_on(test(name)),
            Err(e) if backend == IoBackend::Uring => {
                eprintln!("io_uring unavailable ({e}); ran on the polling driver only");
            }
            Err(e) => panic!("cannot build the {name} runtime: {e}"),
        }
    }
}

/// Opens the log in `dir` and collects what replay hands over.
async fn reopen(dir: &Path, config: &StoreConfig) -> (Log, RecoveryStats, Vec<Seen>) {
    let mut seen = Vec::new();
    let (log, stats) = open(dir, config, |r| {
        seen.push((r.lsn, r.kind.get(), r.payload.to_vec()))
    })
    .await
    .unwrap();
    (log, stats, seen)
}

/// Appends `payloads` (kind = index % 250 + 1), returning what replay should see.
fn append_all(log: &mut Log, payloads: impl IntoIterator<Item = Vec<u8>>) -> Vec<Seen> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            let k = (i % 250) as u8 + 1;
            let lsn = log.append(kind(k), &payload).unwrap();
            (lsn, k, payload)
        })
        .collect()
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

/// The file offset of the record at `lsn` in the segment based at `base`.
fn file_offset(base: Lsn, lsn: Lsn) -> u64 {
    segment::SEGMENT_HEADER_LEN + lsn.get() - base.get()
}

fn segment_files(dir: &Path) -> Vec<(Lsn, u64)> {
    segment::list(dir).unwrap()
}

#[test]
fn round_trip_on_every_policy() {
    on_both_backends(|backend| async move {
        for fsync in [FsyncPolicy::Batch, FsyncPolicy::Always, FsyncPolicy::Never] {
            let dir = TempDir::new(&format!("round-trip-{backend}-{fsync:?}"));
            let config = config(64 * 1024, fsync);
            let (mut log, stats, seen) = reopen(dir.path(), &config).await;
            assert_eq!(
                (stats, seen.len(), log.next_lsn()),
                (RecoveryStats::default(), 0, Lsn::new(0))
            );

            let mut expected = append_all(&mut log, (0..100).map(|i| payload(i, i * 3)));
            assert!(expected.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(!log.is_durable(expected[0].0));
            let durable = log.commit().await.unwrap();
            assert_eq!(durable, log.next_lsn());
            assert!(expected.iter().all(|(lsn, ..)| log.is_durable(*lsn)));
            assert_eq!(log.commit().await.unwrap(), durable, "nothing pending");
            drop(log);

            let (mut log, stats, seen) = reopen(dir.path(), &config).await;
            assert_eq!(seen, expected);
            assert_eq!(
                (stats.records, stats.corrupt_records, stats.truncated_bytes),
                (100, 0, 0)
            );
            assert_eq!(log.next_lsn(), durable);
            expected.extend(
                append_all(&mut log, [b"after reopen".to_vec()])
                    .into_iter()
                    .map(|(lsn, _, p)| (lsn, 1, p)),
            );
            log.commit().await.unwrap();
            drop(log);
            let (_, _, seen) = reopen(dir.path(), &config).await;
            assert_eq!(seen, expected);
        }
    });
}

#[test]
fn rolls_over_into_segments_named_by_their_first_lsn() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("rollover-{backend}"));
        let config = config(4096, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(dir.path(), &config).await;
        let mut expected = Vec::new();
        for batch in 0..5 {
            expected.extend(append_all(
                &mut log,
                (0..100).map(|i| payload(batch * 100 + i, 91)),
            ));
            log.commit().await.unwrap();
        }
        let files = segment_files(dir.path());
        assert!(files.len() >= 12, "{} segments", files.len());
        assert_eq!(log.segment_count(), files.len());
        let firsts: Vec<Lsn> = files.iter().map(|(base, _)| *base).collect();
        for (base, len) in &files {
            assert!(*len <= 4096, "segment {base} is {len} bytes");
            assert!(
                expected.iter().any(|(lsn, ..)| lsn == base),
                "{base} starts no record"
            );
        }
        drop(log);
        let (log, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen, expected);
        assert_eq!(stats.segments, firsts.len());
        assert_eq!(log.first_lsn(), Lsn::new(0));
    });
}

#[test]
fn release_before_deletes_only_whole_older_segments() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("release-{backend}"));
        let config = config(4096, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(dir.path(), &config).await;
        let expected = append_all(&mut log, (0..300).map(|i| payload(i, 100)));
        log.commit().await.unwrap();
        let bases: Vec<Lsn> = segment_files(dir.path()).iter().map(|(b, _)| *b).collect();
        assert!(bases.len() > 5);

        // An LSN inside the fourth segment: the three before it go, the fourth stays.
        let inside = Lsn::new(bases[3].get() + 1);
        assert_eq!(log.release_before(bases[0]).await.unwrap(), 0);
        assert_eq!(log.release_before(inside).await.unwrap(), 3);
        let left: Vec<Lsn> = segment_files(dir.path()).iter().map(|(b, _)| *b).collect();
        assert_eq!(left, bases[3..]);
        assert_eq!(log.first_lsn(), bases[3]);

        // Releasing everything keeps the segment being written.
        let deleted = log.release_before(log.next_lsn()).await.unwrap();
        assert_eq!(deleted, bases.len() - 4);
        assert_eq!(segment_files(dir.path()).len(), 1);
        let last = *bases.last().unwrap();
        drop(log);

        let (mut log, _, seen) = reopen(dir.path(), &config).await;
        let tail: Vec<Seen> = expected
            .into_iter()
            .filter(|(lsn, ..)| *lsn >= last)
            .collect();
        assert_eq!(seen, tail);
        append_all(&mut log, [b"more".to_vec()]);
        log.commit().await.unwrap();
    });
}

#[test]
fn appends_go_on_while_a_commit_runs() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("split-{backend}"));
        let config = config(4096, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(dir.path(), &config).await;
        let first = log.append(kind(1), b"first").unwrap();
        let batch = log.begin_commit().unwrap().unwrap();
        assert_eq!(batch.lsns(), Lsn::new(0)..log.next_lsn());
        assert!(matches!(log.begin_commit(), Err(CommitError::InFlight)));
        // Appended during the I/O, enough to roll over into a new segment.
        let during = append_all(&mut log, (0..60).map(|i| payload(i, 100)));
        let outcome = batch.run().await;
        let durable = log.finish_commit(outcome).unwrap();
        assert!(log.is_durable(first) && !log.is_durable(during[0].0));
        assert_eq!(durable, during[0].0);
        log.commit().await.unwrap();
        assert!(log.is_durable(during[59].0));
        drop(log);
        let (_, _, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen.len(), 61);
        assert_eq!(seen[1..], during[..]);
    });
}

#[test]
fn refuses_a_record_larger_than_a_segment() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("too-large-{backend}"));
        let (mut log, ..) = reopen(dir.path(), &config(4096, FsyncPolicy::Batch)).await;
        let max = log.max_payload();
        assert_eq!(max, 4096 - 24 - 9);
        assert_eq!(
            log.append(kind(1), &vec![0; max + 1]),
            Err(AppendError::TooLarge { len: max + 1, max })
        );
        log.append(kind(1), &vec![7; max]).unwrap();
        log.append(kind(1), &vec![8; max]).unwrap();
        log.commit().await.unwrap();
        assert_eq!(segment_files(dir.path()).len(), 2);
        assert!(RecordKind::new(0).is_none());
    });
}
