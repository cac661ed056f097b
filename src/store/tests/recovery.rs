//! Recovery from damage: a torn tail at every byte of the last record, a damaged record
//! in the middle, a damaged segment header.

use super::*;

/// Writes `n` records to a fresh single-segment log in `dir`; returns them and the bytes
/// of the segment file.
async fn written(dir: &Path, config: &StoreConfig, n: usize) -> (Vec<Seen>, Vec<u8>) {
    let (mut log, ..) = reopen(dir, config).await;
    let expected = append_all(&mut log, (0..n).map(|i| payload(i, 10 + i)));
    log.commit().await.unwrap();
    drop(log);
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(segment::path(dir, Lsn::new(0))).unwrap();
    (expected, bytes)
}

#[test]
fn a_torn_tail_at_every_byte_is_truncated_and_the_log_goes_on() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("torn-{backend}"));
        let config = config(64 * 1024, FsyncPolicy::Batch);
        let (expected, bytes) = written(dir.path(), &config, 5).await;
        let file = segment::path(dir.path(), Lsn::new(0));
        let (last_lsn, ..) = expected[4];
        let start = file_offset(Lsn::new(0), last_lsn) as usize;
        assert_eq!(start + 9 + 14, bytes.len());

        for cut in start + 1..bytes.len() {
            std::fs::write(&file, &bytes[..cut]).unwrap();
            let (mut log, stats, seen) = reopen(dir.path(), &config).await;
            assert_eq!(seen, expected[..4], "cut at {cut}");
            assert_eq!(stats.truncated_bytes, (cut - start) as u64, "cut at {cut}");
            assert_eq!(stats.corrupt_records, 0);
            assert_eq!(std::fs::metadata(&file).unwrap().len(), start as u64);
            assert_eq!(log.next_lsn(), last_lsn);
            let lsn = log.append(kind(9), b"after the tear").unwrap();
            assert_eq!(lsn, last_lsn);
            log.commit().await.unwrap();
            drop(log);
            let (_, stats, seen) = reopen(dir.path(), &config).await;
            assert_eq!(seen[..4], expected[..4]);
            assert_eq!(seen[4], (last_lsn, 9, b"after the tear".to_vec()));
            assert_eq!(stats.truncated_bytes, 0);
        }

        // A bad checksum in the last record, whole in length, is a torn tail too.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        std::fs::write(&file, &flipped).unwrap();
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen, expected[..4]);
        assert_eq!(stats.truncated_bytes, (bytes.len() - start) as u64);
    });
}

#[test]
fn a_damaged_record_in_the_middle_is_skipped_and_counted() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("corrupt-{backend}"));
        let config = config(64 * 1024, FsyncPolicy::Batch);
        let (expected, bytes) = written(dir.path(), &config, 10).await;
        let file = segment::path(dir.path(), Lsn::new(0));
        let at = |i: usize| file_offset(Lsn::new(0), expected[i].0) as usize;

        // A flipped payload byte: skipped by the record's own length.
        let mut damaged = bytes.clone();
        damaged[at(4) + 12] ^= 0x40;
        std::fs::write(&file, &damaged).unwrap();
        let (mut log, stats, seen) = reopen(dir.path(), &config).await;
        let mut without = expected.clone();
        without.remove(4);
        assert_eq!(seen, without);
        assert_eq!(stats.corrupt_records, 1);
        assert_eq!(stats.corrupt_bytes, (at(5) - at(4)) as u64);
        assert_eq!(stats.truncated_bytes, 0);
        // The damage stays where it is; the log appends after the last record.
        assert_eq!(log.next_lsn(), Lsn::new(bytes.len() as u64 - 24));
        log.append(kind(3), b"next").unwrap();
        log.commit().await.unwrap();
        drop(log);
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen.len(), 10);
        assert_eq!(stats.corrupt_records, 1);

        // A damaged length field: found again byte by byte.
        let mut damaged = bytes.clone();
        damaged[at(6) + 2] = 0x7f;
        std::fs::write(&file, &damaged).unwrap();
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        let mut without = expected.clone();
        without.remove(6);
        assert_eq!(seen, without);
        assert_eq!((stats.corrupt_records, stats.truncated_bytes), (1, 0));
    });
}

#[test]
fn a_damaged_header_or_sealed_tail_loses_no_valid_record() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("header-{backend}"));
        let config = config(4096, FsyncPolicy::Batch);
        let (mut log, ..) = reopen(dir.path(), &config).await;
        let expected = append_all(&mut log, (0..120).map(|i| payload(i, 100)));
        log.commit().await.unwrap();
        drop(log);
        let files = segment_files(dir.path());
        assert!(files.len() >= 3);

        // The second segment's header is damaged: its records are still read.
        let second = segment::path(dir.path(), files[1].0);
        let mut bytes = std::fs::read(&second).unwrap();
        bytes[3] ^= 0xff;
        std::fs::write(&second, &bytes).unwrap();
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen, expected);
        assert_eq!(stats.bad_headers, 1);

        // The first segment loses its last record: counted as damage, not a torn tail,
        // and the later segments are read all the same.
        let first = segment::path(dir.path(), files[0].0);
        let len = std::fs::metadata(&first).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&first)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let (_, stats, seen) = reopen(dir.path(), &config).await;
        assert_eq!(seen.len(), expected.len() - 1);
        assert_eq!((stats.corrupt_records, stats.truncated_bytes), (1, 0));
    });
}

#[test]
fn a_segment_of_another_format_version_is_refused() {
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("version-{backend}"));
        let config = config(4096, FsyncPolicy::Batch);
        drop(reopen(dir.path(), &config).await);
        let file = segment::path(dir.path(), Lsn::new(0));
        let mut header = std::fs::read(&file).unwrap();
        header[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..12]), &header[16..24]);
        header[12..16].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&file, &header).unwrap();
        let result = open(dir.path(), &config, |_| {}).await;
        assert!(matches!(
            result,
            Err(OpenError::UnsupportedVersion { version: 2, .. })
        ));
    });
}

#[test]
fn a_new_log_whose_first_segment_was_never_committed_opens_empty() {
    // A new log's first segment is made durable by its first commit, not at open: a
    // crash before it can leave the file empty, its header torn, or no file at all.
    on_both_backends(|backend| async move {
        let dir = TempDir::new(&format!("unsynced-{backend}"));
        let config = config(64 * 1024, FsyncPolicy::Batch);
        let file = segment::path(dir.path(), Lsn::new(0));
        for damage in [0usize, 3, usize::MAX] {
            let (log, ..) = reopen(dir.path(), &config).await;
            drop(log);
            if damage == usize::MAX {
                std::fs::remove_file(&file).unwrap();
            } else {
                let bytes = std::fs::read(&file).unwrap();
                std::fs::write(&file, &bytes[..damage.min(bytes.len())]).unwrap();
            }
            let (mut log, _, seen) = reopen(dir.path(), &config).await;
            assert!(seen.is_empty(), "damage {damage}");
            assert_eq!(log.next_lsn(), Lsn::new(0));
            log.append(kind(1), b"first").unwrap();
            log.commit().await.unwrap();
            drop(log);
            let (_, _, seen) = reopen(dir.path(), &config).await;
            assert_eq!(seen, [(Lsn::new(0), 1, b"first".to_vec())]);
            std::fs::remove_dir_all(dir.path()).unwrap();
        }
    });
}
