//! Peak memory of building and parsing an edXML package with a 500 MB attachment, beside a
//! baseline that only streams the same 500 MB through `std::io::copy` to a file.
//!
//! `cargo run --release -p tinhso-edxml --example stream_memory [MEGABYTES]`
//!
//! Each measurement runs in a child process (this program re-executed with a mode argument)
//! so that nothing the parent allocated counts; the child reports its peak resident set
//! (`VmHWM` of /proc/self/status). The attachment comes from a bounded pseudo-random `Read`,
//! the package is written to a temporary file under /tmp and deleted afterwards, and the
//! parse checks the decoded bytes against the generator's checksum.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, BufReader, Read, Write};
use std::process::Command;
use std::time::Instant;

use tinhso_edxml::model::{AttachmentMeta, DocumentPackage, Organization};
use tinhso_edxml::read::{AttachmentSink, Package, read_package};
use tinhso_edxml::write::{AttachmentInput, write_document};

/// xorshift bytes, `remaining` of them.
struct Noise {
    state: u64,
    remaining: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.remaining) as usize;
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = (self.state >> 24) as u8;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Order-sensitive checksum (FNV-1a, 64 bit).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

struct HashWriter<'a>(&'a mut Fnv);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct HashSink(Fnv);

impl AttachmentSink for HashSink {
    fn open(&mut self, _meta: &AttachmentMeta) -> io::Result<Box<dyn Write + '_>> {
        Ok(Box::new(HashWriter(&mut self.0)))
    }
}

fn noise(bytes: u64) -> Noise {
    Noise {
        state: 0x9e37_79b9_7f4a_7c15,
        remaining: bytes,
    }
}

fn expected_checksum(bytes: u64) -> Fnv {
    let mut h = Fnv::new();
    io::copy(&mut noise(bytes), &mut HashWriter(&mut h)).unwrap();
    h
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn child_build_parse(bytes: u64) {
    let file = tempfile::Builder::new()
        .prefix("edxml-stream-")
        .suffix(".edxml")
        .tempfile_in("/tmp")
        .unwrap();
    let package = DocumentPackage {
        message_header: tinhso_edxml::model::MessageHeader {
            from: Organization {
                organ_id: "000.00.31.H53".into(),
                ..Organization::default()
            },
            subject: Some("Đo bộ nhớ".into()),
            ..Default::default()
        },
        trace_header_list: None,
    };
    let mut inputs = vec![AttachmentInput {
        meta: AttachmentMeta {
            content_id: "cid:1".into(),
            content_type: "application/octet-stream".into(),
            description: None,
            attachment_name: "noise.bin".into(),
        },
        content: Box::new(noise(bytes)),
    }];
    let started = Instant::now();
    let summary = write_document(file.as_file(), &package, &mut inputs).unwrap();
    let built = started.elapsed();
    let after_build = peak_rss_kib();
    let started = Instant::now();
    let mut sink = HashSink(Fnv::new());
    let parsed = read_package(BufReader::new(file.reopen().unwrap()), &mut sink).unwrap();
    let parsed_in = started.elapsed();
    let size = match &parsed {
        Package::Document(d) => d.attachments[0].size,
        Package::Status(_) => panic!("status package"),
    };
    assert_eq!(size, bytes);
    assert_eq!(sink.0.0, expected_checksum(bytes).0, "decoded bytes differ");
    println!(
        "{} {} {} {} {}",
        after_build,
        peak_rss_kib(),
        summary.bytes_written,
        built.as_millis(),
        parsed_in.as_millis()
    );
}

fn child_copy(bytes: u64) {
    let mut file = tempfile::Builder::new()
        .prefix("edxml-baseline-")
        .tempfile_in("/tmp")
        .unwrap();
    let started = Instant::now();
    let n = io::copy(&mut noise(bytes), file.as_file_mut()).unwrap();
    assert_eq!(n, bytes);
    println!("{} {}", peak_rss_kib(), started.elapsed().as_millis());
}

fn run_child(mode: &str, bytes: u64) -> Vec<u64> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([mode, &bytes.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-build-parse") => return child_build_parse(args[2].parse().unwrap()),
        Some("child-copy") => return child_copy(args[2].parse().unwrap()),
        _ => {}
    }
    let megabytes: u64 = args.get(1).map(|v| v.parse().unwrap()).unwrap_or(500);
    let bytes = megabytes * 1_000_000;
    let baseline = run_child("child-copy", bytes);
    let edxml = run_child("child-build-parse", bytes);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "attachment: {megabytes} MB ({bytes} bytes); package file {} bytes",
        edxml[2]
    );
    println!(
        "baseline io::copy to a file: peak RSS {:.1} MiB ({} ms)",
        mib(baseline[0]),
        baseline[1]
    );
    println!(
        "edXML build (base64, streaming): peak RSS {:.1} MiB ({} ms)",
        mib(edxml[0]),
        edxml[3]
    );
    println!(
        "edXML build + parse (decode into checksum sink): peak RSS {:.1} MiB ({} ms parse)",
        mib(edxml[1]),
        edxml[4]
    );
    assert!(mib(edxml[1]) < 100.0, "peak RSS over 100 MiB");
}
