//! Criterion benchmarks of the decoding hot path: the SSE decoder at two read sizes, and a
//! chunk parsed borrowed and owned. `cargo xtask bench` runs the side-by-side comparison;
//! these are for tracking one function over time (`cargo bench --manifest-path bench/Cargo.toml`).

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use cygnet_bench::{chunk_json, reads, sse_events};
use cygnet_core::sse::SseDecoder;
use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};

fn decoder(c: &mut Criterion) {
    let body = Bytes::from(sse_events(5_000));
    let mut group = c.benchmark_group("sse_decoder");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for size in [16usize, 1024] {
        let reads = reads(&body, size);
        group.bench_function(format!("{size}-byte reads"), |b| {
            b.iter(|| {
                let mut decoder = SseDecoder::new();
                let mut n = 0;
                for read in &reads {
                    decoder.push(read.clone());
                    while let Ok(Some(event)) = decoder.next_event() {
                        n += event.data.len();
                    }
                }
                black_box(n)
            })
        });
    }
    group.finish();
}

fn chunk_parse(c: &mut Criterion) {
    let json = chunk_json(3);
    let mut group = c.benchmark_group("chunk_parse");
    // `from_json` (the scanner, serde_json for the rest) against serde_json's derived parse.
    group.bench_function("borrowed from_json", |b| {
        b.iter(|| black_box(ChatCompletionChunkRef::from_json(black_box(&json)).is_ok()))
    });
    group.bench_function("borrowed serde_json", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<ChatCompletionChunkRef<'_>>(black_box(&json)).is_ok())
        })
    });
    group.bench_function("owned from_json", |b| {
        b.iter(|| black_box(ChatCompletionChunk::from_json(black_box(&json)).is_ok()))
    });
    group.bench_function("owned serde_json", |b| {
        b.iter(|| black_box(serde_json::from_str::<ChatCompletionChunk>(black_box(&json)).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, decoder, chunk_parse);
criterion_main!(benches);
