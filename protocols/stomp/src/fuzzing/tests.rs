use proptest::prelude::*;

use super::*;

fn round_trip(version: Version, command: Command, data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(frame) = arbitrary_frame_of(&mut u, version, command) {
        assert_eq!(frame.command, command);
        check_encode_decode(&frame, version);
        // And the frame alone, split at every byte boundary.
        let mut wire = BytesMut::new();
        frame.encode(version, &mut wire).unwrap();
        let (items, error) = check_every_split(&wire, Some(version), Limits::DEFAULT);
        assert_eq!((items, error), (vec![Item::Frame(frame)], None));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every command of every version survives encode + decode unchanged, whatever the
    /// split of its bytes.
    #[test]
    fn every_frame_round_trips(
        version in 0usize..3,
        command in 0usize..15,
        data in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        round_trip(Version::ALL[version], Command::ALL[command], &data);
    }

    /// Streams of frames and heart-beats decode into them, split anywhere.
    #[test]
    fn streams_round_trip(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check_structured(&data);
    }

    /// Arbitrary bytes never break the decoder's contract, whatever the split, the
    /// version and the limits.
    #[test]
    fn arbitrary_bytes_keep_the_contract(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_decode(&data);
    }

    /// Bytes that look like STOMP (built from its tokens) keep the contract too.
    #[test]
    fn stomp_like_bytes_keep_the_contract(
        cut in any::<u8>(),
        tokens in proptest::collection::vec(0usize..TOKENS.len(), 0..48),
    ) {
        let mut data = vec![cut];
        for t in tokens {
            data.extend_from_slice(TOKENS[t]);
        }
        check_decode(&data);
    }
}

const TOKENS: &[&[u8]] = &[
    b"SEND",
    b"CONNECT",
    b"MESSAGE",
    b"ACK",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b":",
    b"\\",
    b"\\n",
    b"\\c",
    b"\\r",
    b"\\t",
    b"content-length:",
    b"3",
    b"0",
    b"12",
    b" ",
    b"destination",
    b"abc",
    b"\xC3",
    b"\xA9",
    b"\n\n",
];

/// Each (version, command) pair gets its own cases, so none is skipped by chance.
#[test]
fn each_command_of_each_version_round_trips() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    for version in Version::ALL {
        for command in Command::ALL {
            runner
                .run(&proptest::collection::vec(any::<u8>(), 0..256), |data| {
                    round_trip(version, command, &data);
                    Ok(())
                })
                .unwrap();
        }
    }
}

#[test]
fn structured_check_ends_with_its_input() {
    assert_eq!(check_structured(&[]), 0);
    check_structured(&[1, 0, 7, 3, 9]);
    check_structured(&[0xFF; 300]);
}

#[test]
fn seeds_pass_the_target() {
    let seeds = seeds();
    assert_eq!(seeds.len(), 3 * 16 + SPEC_EXAMPLES.len());
    for (name, input) in &seeds {
        check_decode(input);
        // Valid input: no error in the version it was written for.
        if let Some(version) = Version::ALL
            .into_iter()
            .find(|v| name.starts_with(v.as_str()))
        {
            let (items, error) = decode_stream(&input[1..], Some(version), Limits::DEFAULT, 0);
            assert_eq!(error, None, "{name}");
            assert!(!items.is_empty(), "{name}");
        }
    }
    for example in SPEC_EXAMPLES {
        let (items, error) = decode_stream(example, Some(Version::V1_2), Limits::DEFAULT, 0);
        assert_eq!(error, None, "{}", String::from_utf8_lossy(example));
        assert!(items.iter().any(|i| matches!(i, Item::Frame(_))));
    }
}

/// The committed seed corpus is the one `seeds` generates. Rewrite it with
/// `cargo test -p switchyard-stomp -- --ignored write_fuzz_seeds`.
#[test]
fn committed_seeds_are_current() {
    let dir = seed_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // fuzz/ is not part of this checkout
    };
    let seeds = seeds();
    assert_eq!(
        entries.count(),
        seeds.len(),
        "stray or missing files in {}",
        dir.display()
    );
    for (name, input) in seeds {
        let committed = std::fs::read(dir.join(&name)).unwrap_or_default();
        assert!(
            committed == input,
            "{name} is stale: run the write_fuzz_seeds test"
        );
    }
}

#[test]
#[ignore = "writes fuzz/seeds/decode_stomp/; run by hand after changing the seeds"]
fn write_fuzz_seeds() {
    let dir = seed_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, input) in seeds() {
        std::fs::write(dir.join(name), input).unwrap();
    }
}

fn seed_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/decode_stomp")
}
