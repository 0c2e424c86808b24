//! `cygnet-bench`: cygnet side by side with its peers, on the same input, in one run.
//!
//! ```text
//! cygnet-bench all --examples-dir DIR --report FILE   every comparison, table to stdout and FILE
//! cygnet-bench micro                                  decoding only
//! cygnet-bench linear                                 one huge event vs many small
//! cygnet-bench mem                                    memory, in a fresh process
//! cygnet-bench nonstream                              non-streaming calls
//! cygnet-bench guard                                  guarded calls: before vs during the call
//! cygnet-bench e2e --examples-dir DIR                 end to end over loopback
//! cygnet-bench e2e-blocking --examples-dir DIR        the blocking stream against the async one
//!     [--chunks N] [--runs N]                         (e2e rows: chunks streamed, default 100,000;
//!                                                     timed runs of each program, default 5)
//! cygnet-bench loadtest [--streams N]                 1,000 concurrent streams on one client
//! cygnet-bench parse                                  the chunk parse alone, once (for profiling)
//! ```
//! Started by `cargo xtask bench` / `cargo xtask loadtest`, which build everything in release.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Context;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cygnet_bench::*;
use cygnet_core::sse::SseDecoder;
use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};
use futures::StreamExt;

/// Counts heap allocations and live bytes, so the benchmarks can show where memory goes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// One line of the report.
struct Row {
    what: String,
    figure: String,
    ratio: String,
    goal: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, what: &str, figure: String, ratio: String, goal: &str) {
        println!("{what:<58} {figure:<28} {ratio:<22} {goal}");
        self.rows.push(Row {
            what: what.to_owned(),
            figure,
            ratio,
            goal: goal.to_owned(),
        });
    }

    fn note(&mut self, note: String) {
        println!("  note: {note}");
        self.notes.push(note);
    }

    fn markdown(&self) -> String {
        let mut out = String::from("| what | figure | ratio | goal |\n|---|---|---|---|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row.what, row.figure, row.ratio, row.goal
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n- {note}");
        }
        out
    }
}

/// The best of `runs` timings of `f` (the least disturbed by the other processes).
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

fn mbps(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e6
}

fn ok(pass: bool) -> &'static str {
    if pass {
        "ok"
    } else {
        "MISSED"
    }
}

/// Polls a future to the end on this thread (the in-memory bodies never wait).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

// ---------- SSE framing ----------

/// cygnet's decoder: events and data bytes.
fn ours_frame(reads: &[Bytes]) -> (usize, usize) {
    let mut decoder = SseDecoder::new();
    let (mut events, mut bytes) = (0, 0);
    for read in reads {
        decoder.push(read.clone());
        while let Ok(Some(event)) = decoder.next_event() {
            events += 1;
            bytes += event.data.len();
        }
    }
    (events, bytes)
}

/// eventsource-stream over the same reads.
fn peer_frame(reads: &[Bytes]) -> (usize, usize) {
    use eventsource_stream::Eventsource;
    let stream = futures::stream::iter(reads.iter().cloned().map(Ok::<_, std::io::Error>));
    let mut events_stream = stream.eventsource();
    block_on(async {
        let (mut events, mut bytes) = (0, 0);
        while let Some(Ok(event)) = events_stream.next().await {
            events += 1;
            bytes += event.data.len();
        }
        (events, bytes)
    })
}

fn framing(report: &mut Report) {
    let body = Bytes::from(sse_events(60_000));
    // 60,000 events, read as 20 passes over a block of 3,000 (690 KB): a body read from a
    // socket arrives warm in cache (the kernel has just copied it), so the reads cycle over a
    // block that stays in cache rather than stream 14 MB from memory, which would time the
    // memory bandwidth a neighbour leaves free (it swung ours between 2.4 and 5 GB/s).
    let block = Bytes::from(sse_events(3_000));
    for (size, goal) in [(1024usize, 6.0), (16, 5.0)] {
        let block_reads = reads(&block, size);
        let reads: Vec<Bytes> = (0..20).flat_map(|_| block_reads.iter().cloned()).collect();
        let total: usize = reads.iter().map(Bytes::len).sum();
        // Best of 15 each: one run of ours takes a few milliseconds, short enough for a
        // neighbour's burst of memory traffic to halve it.
        let (ours_t, ours) = best(15, || ours_frame(&reads));
        let (peer_t, peer) = best(15, || peer_frame(&reads));
        assert_eq!(ours, peer, "both decoders must see the same events");
        let ratio = peer_t.as_secs_f64() / ours_t.as_secs_f64();
        report.row(
            &format!("SSE framing, {size}-byte reads: cygnet SseDecoder"),
            format!(
                "{:.0} MB/s, {:.2} M events/s",
                mbps(total, ours_t),
                ours.0 as f64 / ours_t.as_secs_f64() / 1e6
            ),
            format!("{ratio:.1}x eventsource-stream"),
            &format!(">= {goal}x {}", ok(ratio >= goal)),
        );
        report.row(
            &format!("SSE framing, {size}-byte reads: eventsource-stream"),
            format!(
                "{:.0} MB/s, {:.2} M events/s",
                mbps(total, peer_t),
                peer.0 as f64 / peer_t.as_secs_f64() / 1e6
            ),
            "1.0x".into(),
            "",
        );
    }
    // Allocations per event: all bytes in one read (the steady state the goal names), and in
    // 1 KiB reads (the buffer is warm after the first fill, so only growth allocates).
    let mut decoder = SseDecoder::new();
    decoder.push(body.clone());
    // Counted from before the first event to after the last one: the call that finds no more
    // events may give back a big buffer (one realloc), which is not per event.
    let before = allocs();
    let mut events = 0u64;
    let mut after_last = before;
    while let Ok(Some(_)) = decoder.next_event() {
        events += 1;
        after_last = allocs();
    }
    let one_read = after_last - before;
    let kib = reads(&body, 1024);
    let before = allocs();
    let (n, _) = ours_frame(&kib);
    let per_kib = (allocs() - before) as f64 / n as f64;
    let before = allocs();
    let (peer_n, _) = peer_frame(&kib);
    let peer_per = (allocs() - before) as f64 / peer_n as f64;
    report.row(
        "allocations per event (counting allocator)",
        format!("{one_read} in {events} events from one read; {per_kib:.4}/event at 1 KiB reads"),
        format!("eventsource-stream {peer_per:.1}/event"),
        &format!("0 per event {}", ok(one_read == 0)),
    );
}

// ---------- typed chunks ----------

fn peer_typed(reads: &[Bytes]) -> (usize, usize) {
    use eventsource_stream::Eventsource;
    let stream = futures::stream::iter(reads.iter().cloned().map(Ok::<_, std::io::Error>));
    let mut events = stream.eventsource();
    block_on(async {
        let (mut chunks, mut text) = (0, 0);
        while let Some(Ok(event)) = events.next().await {
            if event.data == "[DONE]" {
                break;
            }
            let chunk: ChatCompletionChunk =
                serde_json::from_str(&event.data).expect("valid chunk");
            chunks += 1;
            text += chunk.content().map_or(0, str::len);
        }
        (chunks, text)
    })
}

fn ours_typed_owned(reads: &[Bytes]) -> (usize, usize) {
    let client = client(MemoryTransport::new(reads.to_vec()));
    block_on(async {
        let mut stream = client.chat_stream(&request()).await.expect("opens");
        let (mut chunks, mut text) = (0, 0);
        while let Some(chunk) = stream.next_chunk().await {
            chunks += 1;
            text += chunk.expect("valid chunk").content().map_or(0, str::len);
        }
        (chunks, text)
    })
}

fn ours_typed_lent(reads: &[Bytes]) -> (usize, usize) {
    let client = client(MemoryTransport::new(reads.to_vec()));
    block_on(async {
        let mut stream = client.chat_stream(&request()).await.expect("opens");
        let (mut chunks, mut text) = (0, 0);
        while let Some(len) = stream
            .next_chunk_with(|chunk| chunk.content().map_or(0, str::len))
            .await
        {
            chunks += 1;
            text += len.expect("valid chunk");
        }
        (chunks, text)
    })
}

fn typed(report: &mut Report) {
    let body = Bytes::from(sse_body(60_000));
    let reads = reads(&body, 1024);
    let (peer_t, peer) = best(3, || peer_typed(&reads));
    let (owned_t, owned) = best(5, || ours_typed_owned(&reads));
    let (lent_t, lent) = best(5, || ours_typed_lent(&reads));
    assert_eq!(owned, peer);
    assert_eq!(lent, peer);
    let rate = |t: Duration| peer.0 as f64 / t.as_secs_f64() / 1e6;
    let lent_ratio = peer_t.as_secs_f64() / lent_t.as_secs_f64();
    report.row(
        "typed chunks, 1 KiB reads: ChatStream::next_chunk_with (borrowed)",
        format!("{:.2} M chunks/s", rate(lent_t)),
        format!("{lent_ratio:.1}x eventsource+serde_json"),
        &format!(">= 2x {}", ok(lent_ratio >= 2.0)),
    );
    report.row(
        "typed chunks, 1 KiB reads: ChatStream::next_chunk (owned)",
        format!("{:.2} M chunks/s", rate(owned_t)),
        format!(
            "{:.1}x eventsource+serde_json",
            peer_t.as_secs_f64() / owned_t.as_secs_f64()
        ),
        "",
    );
    report.row(
        "typed chunks, 1 KiB reads: eventsource-stream + serde_json (owned)",
        format!("{:.2} M chunks/s", rate(peer_t)),
        "1.0x".into(),
        "",
    );
    // Allocations per chunk on the lending path.
    let before = allocs();
    let (n, _) = ours_typed_lent(&reads);
    let lent_allocs = (allocs() - before) as f64 / n as f64;
    let before = allocs();
    let _ = ours_typed_owned(&reads);
    let owned_allocs = (allocs() - before) as f64 / n as f64;
    let before = allocs();
    let _ = peer_typed(&reads);
    let peer_allocs = (allocs() - before) as f64 / n as f64;
    report.row(
        "allocations per chunk: borrowed / owned / peer",
        format!("{lent_allocs:.2} / {owned_allocs:.2} / {peer_allocs:.2}"),
        String::new(),
        "",
    );
    // The parse alone, to show what is left to the framing: `from_json` (the scanner for the
    // common shape, serde_json for the rest) against serde_json's derived parse, on the chunks
    // above and on the same chunks with an escaped newline in each delta (unescaped by the
    // scanner too).
    let plain: Vec<String> = (0..60_000).map(chunk_json).collect();
    let escaped: Vec<String> = plain
        .iter()
        .map(|j| {
            j.replacen(r#"","#, r#"\n","#, 1)
                .replacen(r#" "}"#, r#"\n"}"#, 1)
        })
        .collect();
    let rate = |json: &[String], parse: &dyn Fn(&str) -> usize| {
        let (t, n) = best(5, || json.iter().map(|j| parse(j)).sum::<usize>());
        assert_eq!(n, json.len());
        json.len() as f64 / t.as_secs_f64() / 1e6
    };
    let scanned = |j: &str| {
        ChatCompletionChunkRef::from_json(j)
            .expect("valid")
            .choices
            .len()
    };
    let derived = |j: &str| {
        serde_json::from_str::<ChatCompletionChunkRef<'_>>(j)
            .expect("valid")
            .choices
            .len()
    };
    for (what, json) in [("plain text", &plain), ("text with \\n", &escaped)] {
        let (ours, serde) = (rate(json, &scanned), rate(json, &derived));
        report.row(
            &format!("chunk parse alone, {what}: ChatCompletionChunkRef::from_json"),
            format!("{ours:.2} M chunks/s (serde_json derive {serde:.2})"),
            format!("{:.1}x serde_json", ours / serde),
            "",
        );
    }
}

// ---------- linear cost ----------

fn linear(report: &mut Report) {
    const SIZE: usize = 64 << 20;
    let mut big = Vec::with_capacity(SIZE + 16);
    big.extend_from_slice(b"data: ");
    big.resize(SIZE - 2, b'x');
    big.extend_from_slice(b"\n\n");
    let big = Bytes::from(big);
    let mut small = Vec::with_capacity(SIZE + 4096);
    let mut i = 0;
    while small.len() < SIZE {
        small.extend_from_slice(b"data: ");
        small.extend_from_slice(chunk_json(i).as_bytes());
        small.extend_from_slice(b"\n\n");
        i += 1;
    }
    let small = Bytes::from(small);
    let big_reads = reads(&big, 1024);
    let small_reads = reads(&small, 1024);
    let decode = |reads: &[Bytes]| {
        let mut decoder = SseDecoder::with_max_event_size(128 << 20);
        let mut bytes = 0;
        for read in reads {
            decoder.push(read.clone());
            while let Ok(Some(event)) = decoder.next_event() {
                bytes += event.data.len();
            }
        }
        bytes
    };
    // Interleaved, best of 7: the two cases see the same machine, and each its least
    // disturbed run (a run of the small case takes ~15 ms, so one preemption skews it).
    let (mut big_t, mut small_t) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        let (t, n) = best(1, || decode(&big_reads));
        assert_eq!(n, SIZE - 8);
        big_t = big_t.min(t);
        small_t = small_t.min(best(1, || decode(&small_reads)).0);
    }
    let ratio = big_t.as_secs_f64() / small_t.as_secs_f64();
    report.row(
        "one 64 MiB event vs 64 MiB of small events, 1 KiB reads",
        format!(
            "{:.0} ms vs {:.0} ms",
            big_t.as_secs_f64() * 1e3,
            small_t.as_secs_f64() * 1e3
        ),
        format!("{ratio:.2}x"),
        &format!("<= 2x {}", ok(ratio <= 2.0)),
    );
    // The floor for any decoder that hands out the event as one &str: gather 64 MiB in
    // 1 KiB appends into fresh memory, and into memory already faulted in.
    let (fresh_t, _) = best(3, || {
        let mut v: Vec<u8> = Vec::new();
        for read in &big_reads {
            v.extend_from_slice(read);
        }
        v.len()
    });
    let mut warm: Vec<u8> = vec![0; SIZE];
    let (warm_t, _) = best(3, || {
        warm.clear();
        for read in &big_reads {
            warm.extend_from_slice(read);
        }
        warm.len()
    });
    report.row(
        "  floor: append 64 MiB in 1 KiB reads, fresh Vec / warm Vec",
        format!(
            "{:.0} ms / {:.0} ms",
            fresh_t.as_secs_f64() * 1e3,
            warm_t.as_secs_f64() * 1e3
        ),
        format!(
            "decoder = {:.2}x the fresh floor",
            big_t.as_secs_f64() / fresh_t.as_secs_f64()
        ),
        "",
    );
}

// ---------- memory (own process) ----------

fn mem(report: &mut Report) {
    // 1 GiB of chunks through the lending stream, from a body that repeats one 1 KiB-read block.
    let block = Bytes::from(sse_events(5_000));
    let block_reads = reads(&block, 1024);
    let rounds = (1usize << 30) / block.len() + 1;
    let mut all = Vec::with_capacity(rounds * block_reads.len() + 1);
    for _ in 0..rounds {
        all.extend(block_reads.iter().cloned());
    }
    all.push(Bytes::from_static(b"data: [DONE]\n\n"));
    let client = client(MemoryTransport::new(all));
    let start_rss = proc_status_kib("VmRSS");
    let start_hwm = proc_status_kib("VmHWM");
    let (chunks, streamed) = block_on(async {
        let mut stream = client.chat_stream(&request()).await.expect("opens");
        let mut chunks = 0u64;
        while let Some(r) = stream.next_chunk_with(|c| c.choices.len()).await {
            r.expect("valid");
            chunks += 1;
        }
        (chunks, rounds * block.len())
    });
    let peak = proc_status_kib("VmHWM");
    let growth = peak.saturating_sub(start_hwm.max(start_rss));
    report.row(
        "streaming 1 GiB of chunks: peak RSS growth",
        format!(
            "{} KiB over {:.2} GiB, {chunks} chunks",
            growth,
            streamed as f64 / (1u64 << 30) as f64
        ),
        String::new(),
        &format!("<= 16 MiB {}", ok(growth <= 16 * 1024)),
    );
    drop(client);

    // Idle open streams: heap bytes held per stream (counting allocator), core over an
    // in-memory body that sent one event and then stays open.
    const N: usize = 1000;
    let first = Bytes::from(format!("data: {}\n\n", chunk_json(0)));
    let client = cygnet_bench::client(MemoryTransport::holding(vec![first]));
    let live_before = LIVE.load(Ordering::Relaxed);
    let mut streams = Vec::with_capacity(N);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..N {
        let mut stream = block_on(client.chat_stream(&request())).expect("opens");
        // Read the first chunk, then poll once more so the stream is waiting, idle.
        let first = block_on(stream.next_chunk_with(|c| c.choices.len()));
        assert!(matches!(first, Some(Ok(1))));
        assert!(stream.poll_chunk_with(&mut cx, |_| ()).is_pending());
        streams.push(stream);
    }
    let per_stream = (LIVE.load(Ordering::Relaxed) - live_before) / N;
    report.row(
        "idle open stream (core, after one chunk): heap held",
        format!("{per_stream} bytes per stream ({N} streams)"),
        String::new(),
        &format!("<= 64 KiB {}", ok(per_stream <= 64 * 1024)),
    );
    drop(streams);
}

// ---------- end to end over loopback ----------

/// Wall and CPU (user + sys of the child) of one run of `program`.
/// With `expected_len`, stdout is a pipe that is read and its length checked; without, it
/// goes to /dev/null (the timed runs: the cost of the reader is then no one's).
fn run_child(
    program: &Path,
    runtime: &str,
    base: &str,
    expected_len: Option<usize>,
) -> (Duration, Duration) {
    let usage_before = children_cpu();
    let start = Instant::now();
    let mut child = Command::new(program)
        .env("CYGNET_BENCH_RUNTIME", runtime)
        .env("GRAYSWAN_API_KEY", FAKE_KEY)
        .env("GRAY_SWAN_BASE_URL", base)
        .stdout(if expected_len.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut printed = 0usize;
    if let Some(mut stdout) = child.stdout.take() {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            use std::io::Read;
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => printed += n,
            }
        }
    }
    let status = child.wait().expect("child waits");
    let wall = start.elapsed();
    let cpu = children_cpu() - usage_before;
    assert!(status.success(), "{} failed: {status}", program.display());
    if let Some(expected_len) = expected_len {
        assert_eq!(
            printed,
            expected_len + 1,
            "{} printed the wrong amount",
            program.display()
        );
    }
    (wall, cpu)
}

/// User + system time of all waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Starts the e2e server ([`e2e_chunks`] chunks in 16 KiB frames); its base URL.
fn e2e_server() -> String {
    let addr = spawn_server(
        ServerConfig {
            stream_body: Bytes::from(sse_body(e2e_chunks())),
            frame: 16 * 1024,
            completion: completion_json(),
        },
        1,
    );
    format!("http://{addr}")
}

/// The chunks of the end-to-end stream (`--chunks`, default 100,000) and the timed runs of
/// each program (`--runs`, default 5), set once from the command line.
static E2E_CHUNKS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
static E2E_RUNS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn e2e_chunks() -> usize {
    *E2E_CHUNKS.get().unwrap_or(&100_000)
}

fn e2e_runs() -> usize {
    *E2E_RUNS.get().unwrap_or(&5)
}

/// The e2e rows' common title: how many chunks, printed where.
fn e2e_title(what: &str) -> String {
    format!(
        "e2e {}k chunks, printed to /dev/null: {what}",
        e2e_chunks() / 1000
    )
}

/// Best wall and best CPU of each program: first a checked run of each (stdout a pipe, every
/// delta counted), then the timed runs with stdout on /dev/null, interleaved, best of
/// [`e2e_runs`] (5 unless told): the machine is shared, so take each one's least disturbed run.
fn time_programs(programs: &[(&str, PathBuf, &str)], base: &str) -> Vec<(Duration, Duration)> {
    let expected = expected_text(e2e_chunks()).len();
    for (_, program, runtime) in programs {
        run_child(program, runtime, base, Some(expected));
    }
    let mut results = vec![(Duration::MAX, Duration::MAX); programs.len()];
    for _ in 0..e2e_runs() {
        for (i, (_, program, runtime)) in programs.iter().enumerate() {
            let (wall, cpu) = run_child(program, runtime, base, None);
            results[i].0 = results[i].0.min(wall);
            results[i].1 = results[i].1.min(cpu);
        }
    }
    results
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// The blocking stream's rows: its figures, and its cost per chunk against the async stream's
/// (both examples print every delta of the same stream, so CPU over CPU is per chunk).
fn blocking_rows(report: &mut Report, ours: (Duration, Duration), blocking: (Duration, Duration)) {
    let (wall, cpu) = (ratio(blocking.0, ours.0), ratio(blocking.1, ours.1));
    report.row(
        &e2e_title("cygnet blocking_chat_stream example"),
        format!(
            "{:.0} ms wall, {:.0} ms CPU",
            ms(blocking.0),
            ms(blocking.1)
        ),
        format!("{wall:.2}x / {cpu:.2}x chat_stream"),
        &format!("wall, CPU <= 1.2x {}", ok(wall <= 1.2 && cpu <= 1.2)),
    );
}

/// The async and the blocking streaming examples alone, side by side.
fn e2e_blocking(report: &mut Report, examples_dir: &Path) {
    let base = e2e_server();
    let programs = [
        (
            "cygnet chat_stream example",
            examples_dir.join("chat_stream"),
            "",
        ),
        (
            "cygnet blocking_chat_stream example",
            examples_dir.join("blocking_chat_stream"),
            "",
        ),
    ];
    let results = time_programs(&programs, &base);
    let ours = results[0];
    report.row(
        &e2e_title("cygnet chat_stream example"),
        format!("{:.0} ms wall, {:.0} ms CPU", ms(ours.0), ms(ours.1)),
        String::new(),
        "",
    );
    blocking_rows(report, ours, results[1]);
}

fn e2e(report: &mut Report, examples_dir: &Path) {
    let base = e2e_server();
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    // The example runs on a current-thread runtime (see its docs); the peers run on tokio's
    // default multi-thread runtime, as their own examples do, and again on a current-thread
    // one for a like-for-like view (CYGNET_BENCH_RUNTIME, read by the peers only).
    let programs = [
        (
            "cygnet chat_stream example",
            examples_dir.join("chat_stream"),
            "",
        ),
        ("async-openai", own_dir.join("openai-stream"), ""),
        ("bare hyper", own_dir.join("hyper-stream"), ""),
        (
            "async-openai, current-thread runtime",
            own_dir.join("openai-stream"),
            "current_thread",
        ),
        (
            "bare hyper, current-thread runtime",
            own_dir.join("hyper-stream"),
            "current_thread",
        ),
        (
            "cygnet blocking_chat_stream example",
            examples_dir.join("blocking_chat_stream"),
            "",
        ),
    ];
    let results = time_programs(&programs, &base);
    let (ours, openai, bare) = (results[0], results[1], results[2]);
    let r = ratio;
    report.row(
        &e2e_title("cygnet chat_stream example"),
        format!("{:.0} ms wall, {:.0} ms CPU", ms(ours.0), ms(ours.1)),
        format!(
            "{:.2}x / {:.2}x async-openai",
            r(ours.0, openai.0),
            r(ours.1, openai.1)
        ),
        &format!(
            "wall <= 0.3x {}, CPU <= 0.2x {}",
            ok(r(ours.0, openai.0) <= 0.3),
            ok(r(ours.1, openai.1) <= 0.2)
        ),
    );
    report.row(
        &e2e_title("cygnet vs bare hyper"),
        format!(
            "{:.2}x wall, {:.2}x CPU",
            r(ours.0, bare.0),
            r(ours.1, bare.1)
        ),
        String::new(),
        &format!("wall <= 1.5x {}", ok(r(ours.0, bare.0) <= 1.5)),
    );
    blocking_rows(report, ours, results[5]);
    for (i, (name, _, _)) in programs.iter().enumerate().take(5).skip(1) {
        let ratio = if i >= 3 {
            format!(
                "cygnet = {:.2}x / {:.2}x",
                r(ours.0, results[i].0),
                r(ours.1, results[i].1)
            )
        } else {
            String::new()
        };
        report.row(
            &e2e_title(name),
            format!(
                "{:.0} ms wall, {:.0} ms CPU",
                ms(results[i].0),
                ms(results[i].1)
            ),
            ratio,
            "",
        );
    }
    nonstreaming(report);
}

/// Pins the calling thread (and threads it spawns afterwards) to one CPU, returning the
/// previous set to restore with [`set_affinity`].
fn pin_to_one_cpu() -> Option<libc::cpu_set_t> {
    // SAFETY: sched_{get,set}affinity only read and write the sets we pass, sized correctly.
    unsafe {
        let mut previous: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut previous) != 0 {
            return None;
        }
        let cpu = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &previous))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        set_affinity(&one);
        Some(previous)
    }
}

fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: as above.
    unsafe {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
    }
}

/// Sequential non-streaming calls, cygnet's client vs bare hyper, same server.
///
/// Client and server share one CPU: across two cores a loopback round trip is dominated by
/// cross-core wake-ups whose cost swings 3x with where the scheduler puts the threads
/// (20 µs or 60 µs per call for either client), which would drown the per-call work being
/// compared. On one core the time is the CPU work of client, server and kernel.
fn nonstreaming(report: &mut Report) {
    const CALLS: usize = 3000;
    let previous = pin_to_one_cpu();
    let addr = spawn_server(
        ServerConfig {
            stream_body: Bytes::from(sse_body(10)),
            frame: 16 * 1024,
            completion: completion_json(),
        },
        1,
    );
    let base = &format!("http://{addr}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (ours, bare) = runtime.block_on(async {
        let client = cygnet_core::Client::builder()
            .api_key(FAKE_KEY)
            .base_url(base)
            .transport(cygnet_hyper::HyperTransport::new())
            .build()
            .expect("client");
        let request = request();
        // The same connection settings as cygnet-hyper's (TCP_NODELAY), so the two differ
        // only in what the client does per call.
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let bare_client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, http_body_util::Full<Bytes>>(connector);
        let uri: http::Uri = format!("{base}/chat/completion").parse().expect("uri");
        let mut ours = Duration::MAX;
        let mut bare = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..CALLS {
                let completion = client.chat(&request).await.expect("completion");
                assert!(completion.content().is_some());
            }
            ours = ours.min(start.elapsed());
            let start = Instant::now();
            for _ in 0..CALLS {
                use http_body_util::BodyExt;
                let body = serde_json::to_vec(&request).expect("serializable");
                let req = http::Request::post(uri.clone())
                    .header(http::header::AUTHORIZATION, format!("Bearer {FAKE_KEY}"))
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .header(http::header::ACCEPT, "application/json")
                    .body(http_body_util::Full::new(Bytes::from(body)))
                    .expect("request");
                let response = bare_client.request(req).await.expect("response");
                assert!(response.status().is_success());
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                let completion: cygnet_types::ChatCompletion =
                    serde_json::from_slice(&bytes).expect("completion");
                assert!(completion.content().is_some());
            }
            bare = bare.min(start.elapsed());
        }
        (ours, bare)
    });
    if let Some(previous) = previous {
        set_affinity(&previous);
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / CALLS as f64;
    let ratio = ours.as_secs_f64() / bare.as_secs_f64();
    report.row(
        "non-streaming call over loopback: cygnet Client::chat",
        format!("{:.1} µs/call (bare hyper {:.1} µs)", us(ours), us(bare)),
        format!("{ratio:.2}x bare hyper"),
        &format!("<= 1.1x {}", ok(ratio <= 1.1)),
    );
}

// ---------- load test ----------

fn loadtest(streams: usize) -> ExitCode {
    raise_fd_limit();
    const CHUNKS: usize = 200;
    let addr = spawn_server(
        ServerConfig {
            stream_body: Bytes::from(sse_body(CHUNKS)),
            frame: 4 * 1024,
            completion: completion_json(),
        },
        1,
    );
    let expected = expected_text(CHUNKS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let start_rss = proc_status_kib("VmRSS");
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let client = cygnet_core::Client::builder()
            .api_key(FAKE_KEY)
            .base_url(format!("http://{addr}"))
            .transport(cygnet_hyper::HyperTransport::new())
            .build()
            .expect("client");
        let tasks: Vec<_> = (0..streams)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut stream = client.chat_stream(&request()).await?;
                    let mut text = String::new();
                    while let Some(chunk) = stream.next_chunk().await {
                        text.push_str(chunk?.content().unwrap_or(""));
                    }
                    Ok::<_, cygnet_core::Error>(text)
                })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(120), async {
            let mut complete = 0;
            let mut failures = Vec::new();
            for task in tasks {
                match task.await {
                    Ok(Ok(text)) if text == expected => complete += 1,
                    Ok(Ok(text)) => failures.push(format!("wrong text, {} bytes", text.len())),
                    Ok(Err(e)) => failures.push(e.to_string()),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (complete, failures)
        })
        .await
    });
    let elapsed = started.elapsed();
    let peak = proc_status_kib("VmHWM");
    match outcome {
        Ok((complete, failures)) => {
            println!(
                "loadtest: {complete}/{streams} concurrent streams of {CHUNKS} chunks complete and \
                 correct in {:.2} s on one shared client; RSS at start {} KiB, peak {} KiB \
                 (client and loopback server in one process)",
                elapsed.as_secs_f64(),
                start_rss,
                peak
            );
            for failure in failures.iter().take(5) {
                println!("  failure: {failure}");
            }
            if complete == streams {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(_) => {
            println!("loadtest: timed out after 120 s");
            ExitCode::FAILURE
        }
    }
}

/// Client and server sockets of 1,000 streams need more descriptors than the usual 1,024.
fn raise_fd_limit() {
    // SAFETY: get/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

// ---------- the guard's latency ----------

/// An unguarded chat call against the guarded one with its input checked before the call and
/// during it, on loopback, with a scripted monitor delay and chat delay: during the call must
/// cost about the slower of the two, not their sum.
fn guard_latency(report: &mut Report) {
    use cygnet_core::guard::{CheckMode, GuardPolicy};
    const MONITOR: Duration = Duration::from_millis(50);
    const CHAT: Duration = Duration::from_millis(80);
    const CALLS: usize = 15;
    let addr = spawn_guard_server(MONITOR, CHAT);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (plain, before, during) = runtime.block_on(async {
        let client = cygnet_core::Client::builder()
            .api_key(FAKE_KEY)
            .base_url(format!("http://{addr}"))
            .transport(cygnet_hyper::HyperTransport::new())
            .build()
            .expect("client");
        let request = request();
        // The input stage alone, so each row adds exactly one monitor call to the chat call.
        let policy = GuardPolicy::new().check_output(false);
        let before_client = client.guarded(policy.clone());
        let during_client = client.guarded(policy.mode(CheckMode::DuringCall));
        // Warm the pool (two connections, for the concurrent calls).
        during_client.chat(&request).await.expect("guarded chat");
        // Median of CALLS, the three interleaved so they see the same machine.
        let (mut plain, mut before, mut during) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..CALLS {
            let start = Instant::now();
            client.chat(&request).await.expect("chat");
            plain.push(start.elapsed());
            let start = Instant::now();
            before_client.chat(&request).await.expect("guarded chat");
            before.push(start.elapsed());
            let start = Instant::now();
            during_client.chat(&request).await.expect("guarded chat");
            during.push(start.elapsed());
        }
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        (median(plain), median(before), median(during))
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let sum = ms(MONITOR + CHAT);
    let max = ms(MONITOR.max(CHAT));
    report.row(
        "guard, monitor 50 ms + chat 80 ms: unguarded chat",
        format!("{:.1} ms per call", ms(plain)),
        "1.00x".into(),
        "",
    );
    report.row(
        "guard, monitor 50 ms + chat 80 ms: before the call",
        format!("{:.1} ms per call", ms(before)),
        format!(
            "{:.2}x unguarded, {:.2}x sum",
            ms(before) / ms(plain),
            ms(before) / sum
        ),
        "about the sum",
    );
    let during_vs_max = ms(during) / max;
    report.row(
        "guard, monitor 50 ms + chat 80 ms: during the call",
        format!("{:.1} ms per call", ms(during)),
        format!(
            "{:.2}x unguarded, {during_vs_max:.2}x max",
            ms(during) / ms(plain)
        ),
        &format!("<= 1.15x max {}", ok(during_vs_max <= 1.15)),
    );
}

// ---------- driver ----------

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn header() {
    println!("{:<58} {:<28} {:<22} goal", "what", "figure", "ratio");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("all");
    let examples_dir = arg_value(&args, "--examples-dir").map(PathBuf::from);
    for (flag, cell) in [("--chunks", &E2E_CHUNKS), ("--runs", &E2E_RUNS)] {
        if let Some(value) = arg_value(&args, flag) {
            match value.parse::<usize>() {
                Ok(n) if n > 0 => {
                    let _ = cell.set(n);
                }
                _ => {
                    eprintln!("{flag} needs a positive whole number, not {value:?}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let mut report = Report::default();
    match task {
        "micro" => {
            header();
            framing(&mut report);
            typed(&mut report);
            linear(&mut report);
        }
        "mem" => {
            header();
            mem(&mut report);
        }
        "linear" => {
            // The linear-cost case alone (for profiling).
            header();
            linear(&mut report);
        }
        "e2e" => {
            header();
            e2e(
                &mut report,
                examples_dir
                    .as_deref()
                    .unwrap_or(Path::new("target/release/examples")),
            );
        }
        "parse" => {
            // `from_json` once over the plain chunks of the micro rows, nothing timed: for
            // counting its instructions (`valgrind --tool=callgrind`).
            let plain: Vec<String> = (0..60_000).map(chunk_json).collect();
            let parsed: usize = plain
                .iter()
                .map(|j| {
                    ChatCompletionChunkRef::from_json(std::hint::black_box(j))
                        .expect("valid")
                        .choices
                        .len()
                })
                .sum();
            println!("{parsed} chunks parsed");
        }
        "e2e-blocking" => {
            // The async and the blocking streaming examples alone.
            header();
            e2e_blocking(
                &mut report,
                examples_dir
                    .as_deref()
                    .unwrap_or(Path::new("target/release/examples")),
            );
        }
        "serve" => {
            // The e2e server alone, for profiling a client against it: prints its base URL.
            let addr = spawn_server(
                ServerConfig {
                    stream_body: Bytes::from(sse_body(e2e_chunks())),
                    frame: 16 * 1024,
                    completion: completion_json(),
                },
                1,
            );
            println!("http://{addr}");
            std::thread::sleep(Duration::from_secs(300));
            return ExitCode::SUCCESS;
        }
        "guard" => {
            // The guard's added latency, before and during the call.
            header();
            guard_latency(&mut report);
        }
        "nonstream" => {
            // The non-streaming comparison alone (for profiling).
            header();
            nonstreaming(&mut report);
        }
        "loadtest" => {
            let streams = arg_value(&args, "--streams")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1000);
            return loadtest(streams);
        }
        "all" => {
            header();
            framing(&mut report);
            typed(&mut report);
            linear(&mut report);
            guard_latency(&mut report);
            // Memory in a fresh process, so the peak is not the earlier benchmarks'.
            let exe = std::env::current_exe().expect("own path");
            let out = Command::new(exe)
                .arg("mem-rows")
                .output()
                .expect("run the memory benchmark");
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let cols: Vec<&str> = line.split('\t').collect();
                if let [what, figure, ratio, goal] = cols[..] {
                    report.row(what, figure.into(), ratio.into(), goal);
                }
            }
            if let Some(dir) = &examples_dir {
                e2e(&mut report, dir);
            } else {
                report.note("e2e skipped: no --examples-dir".into());
            }
        }
        "mem-rows" => {
            // The memory rows, tab-separated, for `all`.
            let mut rows = Report::default();
            // `row` also prints the aligned line; the parent reads only the tab-separated ones.
            mem(&mut rows);
            for row in rows.rows {
                println!("{}\t{}\t{}\t{}", row.what, row.figure, row.ratio, row.goal);
            }
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("unknown task {other:?}; see the module docs");
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = arg_value(&args, "--report") {
        let text = format!(
            "# cygnet benchmark report\n\nProduced by `cargo xtask bench` (best of several runs; \
             same input for every contender).\n\n{}",
            report.markdown()
        );
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("report written to {path}");
    }
    ExitCode::SUCCESS
}
