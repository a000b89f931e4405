//! Real data bundled with the crate: the UCI handwritten digits (8×8).
//!
//! [`digits`] returns the 1,797 images of the test set of the UCI Machine
//! Learning Repository dataset *Optical Recognition of Handwritten Digits*
//! (E. Alpaydin and C. Kaynak, 1998), as bundled with scikit-learn. Each
//! image is a row of 64 pixels in row-major order; a pixel counts the "on"
//! pixels of a 4×4 block of the original 32×32 bitmap, so it is an integer
//! in `0..=16`.
//!
//! The data are licensed under CC BY 4.0; the attribution, the license note
//! and the file's checksums are in `data/digits/README.md`. The file is
//! embedded uncompressed (265 kB) with `include_bytes!`, so no decoder
//! dependency is needed; a binary that never calls [`digits`] does not keep
//! it (the linker drops the unused static).
//!
//! A two-class problem is a pair of digits ([`Digits::pair`]), ready for
//! fitting a model or for [`empirical`](crate::empirical) training;
//! [`Digits::train_test_split`] makes a reproducible stratified split.
//!
//! # Example
//! ```
//! use manifold_robustness::{datasets, Label};
//!
//! let digits = datasets::digits()?;
//! assert_eq!(digits.len(), 1797);
//! let (x, y) = digits.pair(3, 8)?;
//! assert_eq!(x.nrows(), 183 + 174);
//! assert_eq!(y.iter().filter(|&&l| l == Label::Pos).count(), 183);
//! # Ok::<(), manifold_robustness::Error>(())
//! ```

use nalgebra::DMatrix;

use crate::classifier::Label;
use crate::error::{Error, Result};
use crate::seeded::SplitMix64;

/// The embedded CSV: 1,797 lines of 64 pixels and a label.
const DIGITS_CSV: &[u8] = include_bytes!("../data/digits/digits.csv");
const DIGITS_FILE: &str = "data/digits/digits.csv";

/// A set of labeled 8×8 digit images.
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    images: DMatrix<f64>,
    labels: Vec<u8>,
}

impl Digits {
    /// Side length of an image, in pixels.
    pub const SIDE: usize = 8;
    /// Pixels per image (`8 × 8`): the number of columns of [`images`](Self::images).
    pub const PIXELS: usize = 64;
    /// The largest pixel value.
    pub const MAX_PIXEL: f64 = 16.0;
    /// Number of classes (digits `0..=9`).
    pub const CLASSES: usize = 10;

    /// The images, one per row (`n × 64`, row-major pixels, values `0..=16`).
    pub fn images(&self) -> &DMatrix<f64> {
        &self.images
    }

    /// The digit shown by each image, `0..=9`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// How many images show each digit `0..=9`.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// The two-class problem "digit `a` against digit `b`": the images of
    /// both digits in their original order, with `a ↦ Label::Pos` and
    /// `b ↦ Label::Neg`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `a` or `b` is not a digit or
    /// `a = b`; [`Error::NotEnoughSamples`] when this set has no image of
    /// one of them (possible after a split).
    pub fn pair(&self, a: u8, b: u8) -> Result<(DMatrix<f64>, Vec<Label>)> {
        for (name, digit) in [("a", a), ("b", b)] {
            if digit > 9 {
                return Err(Error::InvalidParameter {
                    name,
                    value: f64::from(digit),
                    reason: "a digit must lie in 0..=9",
                });
            }
        }
        if a == b {
            return Err(Error::InvalidParameter {
                name: "b",
                value: f64::from(b),
                reason: "the two digits of a pair must differ",
            });
        }
        let counts = self.class_counts();
        for (name, digit) in [("images of digit a", a), ("images of digit b", b)] {
            let found = counts[usize::from(digit)];
            if found == 0 {
                return Err(Error::NotEnoughSamples {
                    name,
                    needed: 1,
                    found,
                });
            }
        }
        let rows: Vec<usize> = (0..self.len())
            .filter(|&i| self.labels[i] == a || self.labels[i] == b)
            .collect();
        let x = self.images.select_rows(&rows);
        let y = rows
            .iter()
            .map(|&i| {
                if self.labels[i] == a {
                    Label::Pos
                } else {
                    Label::Neg
                }
            })
            .collect();
        Ok((x, y))
    }

    /// A reproducible stratified split into a training and a test set.
    ///
    /// For each digit, its images are shuffled by a seeded SplitMix64
    /// stream (a fully specified generator, so the split is the same on
    /// every platform and every version of `rand`) and the first
    /// `round(fraction · count)` go to the training set. Both sets keep the
    /// original order of the images.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < fraction < 1`;
    /// [`Error::NotEnoughSamples`] when one of the two sets would be empty.
    pub fn train_test_split(&self, fraction: f64, seed: u64) -> Result<(Digits, Digits)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::InvalidParameter {
                name: "fraction",
                value: fraction,
                reason: "the training fraction must lie strictly between 0 and 1",
            });
        }
        let mut stream = SplitMix64(seed);
        let mut train = Vec::new();
        for digit in 0..10u8 {
            let mut rows: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] == digit)
                .collect();
            // Fisher–Yates; the multiply-shift maps 64 random bits to
            // 0..=i with a bias below 2⁻⁵⁰ for these sizes.
            for i in (1..rows.len()).rev() {
                let j = ((u128::from(stream.next_u64()) * (i as u128 + 1)) >> 64) as usize;
                rows.swap(i, j);
            }
            let take = (fraction * rows.len() as f64).round() as usize;
            train.extend_from_slice(&rows[..take]);
        }
        train.sort_unstable();
        let mut in_train = vec![false; self.len()];
        for &i in &train {
            in_train[i] = true;
        }
        let test: Vec<usize> = (0..self.len()).filter(|&i| !in_train[i]).collect();
        for (name, set) in [("training images", &train), ("test images", &test)] {
            if set.is_empty() {
                return Err(Error::NotEnoughSamples {
                    name,
                    needed: 1,
                    found: 0,
                });
            }
        }
        Ok((self.subset(&train), self.subset(&test)))
    }

    fn subset(&self, rows: &[usize]) -> Digits {
        Digits {
            images: self.images.select_rows(rows),
            labels: rows.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// The 1,797 UCI handwritten digits (8×8 images, pixels `0..=16`).
///
/// Parses the embedded CSV (about a millisecond); call it once and keep
/// the result.
///
/// # Errors
/// [`Error::InvalidData`] if the embedded file is corrupt (a line without
/// 65 fields, a pixel outside `0..=16`, a label outside `0..=9`); this
/// cannot happen with the file shipped in the crate.
pub fn digits() -> Result<Digits> {
    parse_digits(DIGITS_CSV)
}

fn parse_digits(bytes: &[u8]) -> Result<Digits> {
    let invalid = |line: usize, reason: String| Error::InvalidData {
        file: DIGITS_FILE,
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(0, e.to_string()))?;
    let mut pixels: Vec<f64> = Vec::with_capacity(1797 * Digits::PIXELS);
    let mut labels: Vec<u8> = Vec::with_capacity(1797);
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != Digits::PIXELS + 1 {
            return Err(invalid(
                number,
                format!(
                    "expected {} fields, found {}",
                    Digits::PIXELS + 1,
                    fields.len()
                ),
            ));
        }
        for field in &fields[..Digits::PIXELS] {
            match field.trim().parse::<u8>() {
                Ok(v) if v <= 16 => pixels.push(f64::from(v)),
                _ => {
                    return Err(invalid(
                        number,
                        format!("pixel {field:?} is not an integer in 0..=16"),
                    ));
                }
            }
        }
        let label = fields[Digits::PIXELS];
        match label.trim().parse::<u8>() {
            Ok(v) if v <= 9 => labels.push(v),
            _ => {
                return Err(invalid(
                    number,
                    format!("label {label:?} is not a digit 0..=9"),
                ));
            }
        }
    }
    if labels.is_empty() {
        return Err(invalid(0, "no images".to_string()));
    }
    let images = DMatrix::from_row_slice(labels.len(), Digits::PIXELS, &pixels);
    Ok(Digits { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_corrupt_lines() {
        let short = b"0,1,2\n";
        assert!(matches!(
            parse_digits(short),
            Err(Error::InvalidData { line: 1, .. })
        ));
        let mut row = vec!["0"; 64];
        row.push("3");
        let good = row.join(",");
        let mut bad_pixel = row.clone();
        bad_pixel[5] = "17";
        let text = format!("{good}\n{}\n", bad_pixel.join(","));
        assert!(matches!(
            parse_digits(text.as_bytes()),
            Err(Error::InvalidData { line: 2, .. })
        ));
        let mut bad_label = row.clone();
        bad_label[64] = "10";
        assert!(matches!(
            parse_digits(bad_label.join(",").as_bytes()),
            Err(Error::InvalidData { line: 1, .. })
        ));
        let parsed = parse_digits(good.as_bytes()).unwrap();
        assert_eq!(parsed.labels(), &[3]);
        assert_eq!(parsed.images().shape(), (1, 64));
        assert!(matches!(
            parse_digits(b"\n"),
            Err(Error::InvalidData { .. })
        ));
    }
}
