//! Criterion benches for the pure morning stages on a synthetic store (no I/O): window totals +
//! self_calibrator, classifier, decision_engine, at 1k and 10k variants × 28 days.
//!
//!   cargo bench -p otto-core --bench stages
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use otto_core::money::Currency;
use otto_core::stages::calibrate::{calibrate, window_totals, CalibrationRules};
use otto_core::stages::classify::classify;
use otto_core::stages::decide::{decide, Carry, DecisionRules, Lift, SkuFacts};
use otto_core::synthetic::{generate, SyntheticSpec};
use otto_core::StoreDay;
use std::hint::black_box;

fn stages(c: &mut Criterion) {
    let today = StoreDay::parse("2026-11-24").expect("day");
    let mut g = c.benchmark_group("morning_stages");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        let store = generate(
            &SyntheticSpec {
                variants: n,
                days: 28,
                last_day: today.plus_days(-1),
                seed: 7,
                currency: Currency::EUR,
            },
            "2026-11-24T05:00:00Z".parse().expect("time"),
        );
        g.throughput(Throughput::Elements(n as u64));
        let from = today.plus_days(-28);
        let to = today.plus_days(-1);
        g.bench_with_input(BenchmarkId::new("calibrate", n), &store, |b, s| {
            b.iter(|| {
                let (totals, prov) = window_totals(black_box(&s.metrics), from, to);
                calibrate(&totals, prov, today, CalibrationRules::default())
            })
        });
        let (totals, prov) = window_totals(&store.metrics, from, to);
        let t = calibrate(&totals, prov, today, CalibrationRules::default());
        g.bench_with_input(BenchmarkId::new("classify", n), &store, |b, s| {
            b.iter(|| {
                s.variants
                    .iter()
                    .map(|v| classify(&v.sku, totals.get(&v.sku), black_box(&t)))
                    .collect::<Vec<_>>()
            })
        });
        let classified: Vec<_> = store
            .variants
            .iter()
            .map(|v| classify(&v.sku, totals.get(&v.sku), &t))
            .collect();
        let rules = DecisionRules::default();
        g.bench_with_input(BenchmarkId::new("decide", n), &store, |b, s| {
            b.iter(|| {
                s.variants
                    .iter()
                    .zip(&classified)
                    .map(|(v, c)| {
                        decide(
                            &SkuFacts {
                                variant: v,
                                classified: c,
                                lift: Lift::default(),
                                carry: Carry::default(),
                                today,
                                last_sync_at: None,
                                otto_wrote_at: None,
                                sales: None,
                                completed_test: None,
                                on_discount_until: None,
                            },
                            black_box(&rules),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        });
        // As the morning cycle runs it: 500-SKU chunks, each chunk's decisions dropped before
        // the next (the whole-store figure above also measures holding every decision at once).
        g.bench_with_input(BenchmarkId::new("decide_chunked_500", n), &store, |b, s| {
            b.iter(|| {
                let mut n = 0usize;
                for (vs, cs) in s.variants.chunks(500).zip(classified.chunks(500)) {
                    let out: Vec<_> = vs
                        .iter()
                        .zip(cs)
                        .map(|(v, c)| {
                            decide(
                                &SkuFacts {
                                    variant: v,
                                    classified: c,
                                    lift: Lift::default(),
                                    carry: Carry::default(),
                                    today,
                                    last_sync_at: None,
                                    otto_wrote_at: None,
                                    sales: None,
                                    completed_test: None,
                                    on_discount_until: None,
                                },
                                black_box(&rules),
                            )
                        })
                        .collect();
                    n += black_box(out).len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
