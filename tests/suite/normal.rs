//! Checks `manifold_robustness::normal` against 50-digit reference values.
//!
//! The data files are made by `scripts/normal_reference.py` (see its header
//! for how to regenerate them).

use manifold_robustness::normal;

const MAIN: &str = include_str!("../data/normal_reference.csv");
const TAIL: &str = include_str!("../data/normal_ln_cdf_tail_reference.csv");
const QUANTILE: &str = include_str!("../data/normal_quantile_reference.csv");

/// Rows of a CSV file with a header line, parsed as numbers.
fn rows(csv: &str, columns: usize) -> Vec<Vec<f64>> {
    let mut lines = csv.lines();
    let header = lines.next().expect("empty reference file");
    assert_eq!(header.split(',').count(), columns, "header: {header}");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let row: Vec<f64> = l
                .split(',')
                .map(|v| v.trim().parse().unwrap_or_else(|e| panic!("{l}: {e}")))
                .collect();
            assert_eq!(row.len(), columns, "row: {l}");
            row
        })
        .collect()
}

/// The largest relative error seen so far, and where it was seen.
struct Worst {
    name: &'static str,
    err: f64,
    at: f64,
    got: f64,
    want: f64,
    count: usize,
}

impl Worst {
    fn new(name: &'static str) -> Self {
        Worst {
            name,
            err: 0.0,
            at: f64::NAN,
            got: f64::NAN,
            want: f64::NAN,
            count: 0,
        }
    }

    fn record(&mut self, at: f64, got: f64, want: f64) {
        let err = if want == 0.0 {
            if got == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            ((got - want) / want).abs()
        };
        self.count += 1;
        // A NaN result is kept as the worst, and then fails the check.
        if err.is_nan() || err > self.err {
            self.err = err;
            self.at = at;
            self.got = got;
            self.want = want;
        }
    }

    fn check(&self, tol: f64) {
        println!(
            "{}: worst relative error {:.3e} over {} points (at {:e}: got {:e}, want {:e})",
            self.name, self.err, self.count, self.at, self.got, self.want
        );
        assert!(self.count > 0, "{}: no reference points", self.name);
        assert!(
            self.err <= tol,
            "{}: worst relative error {:e} exceeds {:e} at {:e} (got {:e}, want {:e})",
            self.name,
            self.err,
            tol,
            self.at,
            self.got,
            self.want
        );
    }
}

#[test]
fn cdf_matches_reference() {
    let mut worst_cdf = Worst::new("cdf");
    let mut worst_sf = Worst::new("sf");
    for r in rows(MAIN, 4) {
        let (x, want) = (r[0], r[1]);
        if (-37.0..=8.0).contains(&x) {
            worst_cdf.record(x, normal::cdf(x), want);
            worst_sf.record(-x, normal::sf(-x), want);
        }
    }
    worst_cdf.check(1e-14);
    worst_sf.check(1e-14);
}

#[test]
fn pdf_matches_reference() {
    let mut worst = Worst::new("pdf");
    for r in rows(MAIN, 4) {
        let (x, want) = (r[0], r[3]);
        worst.record(x, normal::pdf(x), want);
        worst.record(-x, normal::pdf(-x), want);
    }
    worst.check(1e-14);
}

#[test]
fn ln_cdf_matches_reference() {
    let mut worst = Worst::new("ln_cdf");
    let mut worst_sf = Worst::new("ln_sf");
    let main = rows(MAIN, 4).into_iter().map(|r| (r[0], r[2]));
    let tail = rows(TAIL, 2).into_iter().map(|r| (r[0], r[1]));
    for (x, want) in main.chain(tail) {
        if (-1e6..=8.0).contains(&x) {
            worst.record(x, normal::ln_cdf(x), want);
            worst_sf.record(-x, normal::ln_sf(-x), want);
        }
    }
    worst.check(1e-13);
    worst_sf.check(1e-13);
}

#[test]
fn quantile_matches_reference() {
    let mut worst = Worst::new("quantile");
    for r in rows(QUANTILE, 2) {
        let (p, want) = (r[0], r[1]);
        assert!(
            (1e-300..=1.0 - 1e-16).contains(&p),
            "p = {p:e} out of range"
        );
        let got = normal::quantile(p).unwrap_or_else(|e| panic!("p = {p:e}: {e}"));
        worst.record(p, got, want);
    }
    worst.check(1e-13);
}
