//! Durable log benches: append + commit throughput of `switchyard::store::Log` on the
//! real file system (the system temp directory, or `STORE_BENCH_DIR`), through the same
//! compio runtime the shards use.
//!
//! One iteration is one append of a `size`-byte payload; every `every`-th append is
//! followed by a commit (a group commit covering `every` records), and the last partial
//! group is committed before the clock stops. Under `fsync = batch` each commit is one
//! `fdatasync`, so fsyncs per second = records per second / `every`; under `never` the
//! commit only writes. Segments are 64 MiB; whole segments behind the durable LSN are
//! released as the log grows, as a shard would once its messages are acknowledged.
//! Throughput is in records (criterion's "elem/s"); MB/s = records/s x (size + 9).
//!
//! The io_uring driver runs every case; the polling driver runs a subset for comparison.
//!
//! Run: `cargo bench -p switchyard-benches --bench store`, or a subset, e.g.
//! `cargo bench -p switchyard-benches --bench store -- batch/64B`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard::config::IoBackend;
use switchyard::server::driver::build_runtime;
use switchyard::store::{FsyncPolicy, Log, RecordKind, StoreConfig, open};

const SIZES: [usize; 2] = [64, 1024];
const COMMIT_EVERY: [u64; 3] = [1, 64, 1024];

fn bench_dir(name: &str) -> PathBuf {
    let root = std::env::var_os("STORE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    root.join(format!(
        "switchyard-store-bench-{}-{name}",
        std::process::id()
    ))
}

/// Appends `iters` records, committing every `every`; returns the time taken.
async fn run(log: &mut Log, payload: &[u8], every: u64, iters: u64) -> Duration {
    let kind = RecordKind::new(1).expect("1 is a valid kind");
    let start = Instant::now();
    for i in 1..=iters {
        log.append(kind, payload).expect("append");
        if i % every == 0 {
            log.commit().await.expect("commit");
            if log.segment_count() > 2 {
                log.release_before(log.durable_lsn())
                    .await
                    .expect("release");
            }
        }
    }
    log.commit().await.expect("commit");
    start.elapsed()
}

fn append_commit(c: &mut Criterion) {
    let cases = [
        (
            IoBackend::Uring,
            "uring",
            FsyncPolicy::Batch,
            &COMMIT_EVERY[..],
            &SIZES[..],
        ),
        (
            IoBackend::Uring,
            "uring",
            FsyncPolicy::Never,
            &COMMIT_EVERY[..],
            &SIZES[..],
        ),
        (
            IoBackend::Portable,
            "polling",
            FsyncPolicy::Batch,
            &COMMIT_EVERY[..2],
            &SIZES[1..],
        ),
    ];
    for (backend, backend_name, fsync, everies, sizes) in cases {
        let runtime = build_runtime(backend).expect("runtime");
        let policy = format!("{fsync:?}").to_lowercase();
        let mut group = c.benchmark_group(format!("store/{backend_name}/{policy}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(1));
        for &size in sizes {
            for &every in everies {
                let dir = bench_dir(&format!("{backend_name}-{policy}-{size}-{every}"));
                let config = StoreConfig {
                    enabled: true,
                    fsync,
                    segment_size: 64 * 1024 * 1024,
                };
                let mut log = runtime
                    .block_on(open(&dir, &config, |_| {}))
                    .expect("open")
                    .0;
                let payload = vec![0xa5; size];
                let id = BenchmarkId::new(format!("{size}B"), format!("commit_every_{every}"));
                group.bench_function(id, |b| {
                    b.iter_custom(|iters| runtime.block_on(run(&mut log, &payload, every, iters)))
                });
                drop(log);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        group.finish();
    }
}

criterion_group!(benches, append_commit);
criterion_main!(benches);
