//! Histogram aggregation as AWS's own EMF library (`aws-embedded-metrics-java`, `Histogram`)
//! writes it: `{"Values":[…],"Counts":[…],"Max":…,"Min":…,"Count":…,"Sum":…}`.
//!
//! While a histogram has at most 100 distinct values they are kept exactly. Past that, every
//! value goes into a log-scale bin as that library does: bin `i = floor(ln v / ln 1.1)` holds
//! `[1.1^i, 1.1^(i+1))` and is written as its geometric midpoint `e^((i + 0.5) · ln 1.1)`, so a
//! written value is within 5 % of the values it stands for. `Max`, `Min`, `Count` and `Sum` stay
//! exact. Two deliberate differences: values at or below zero (which have no logarithm; the
//! Java library files them under bin 0, i.e. `1.0488`) share one bin written as `0`; and when
//! the values span so wide a range that even the bins number more than 100, neighbouring bins
//! are merged (each merge doubles the bin width) until at most 100 remain, because CloudWatch
//! drops a histogram of more than 100 values and one histogram is never split across
//! documents. Values are written in ascending order.

use std::collections::BTreeMap;

use super::record::HistogramValue;

/// At most this many distinct values or bins in one histogram.
pub(crate) const MAX_BINS: usize = 100;

/// `ln(1 + 0.1)`: the width of a bin on the log scale.
const BIN_SIZE: f64 = 0.095_310_179_804_324_93;

/// The bin index standing for values at or below zero.
const NON_POSITIVE: i32 = i32::MIN;

#[derive(Debug, Clone)]
pub(crate) struct Dist {
    /// Exact distinct values with their counts, until there are more than [`MAX_BINS`].
    exact: Vec<(f64, u64)>,
    /// Log-scale bins by index, once binned.
    bins: Option<BTreeMap<i32, u64>>,
    min: f64,
    max: f64,
    count: u64,
    sum: f64,
}

fn bin_of(v: f64) -> i32 {
    if v <= 0.0 {
        NON_POSITIVE
    } else {
        // Finite positive doubles give indices well inside i32 (about ±7,500).
        (v.ln() / BIN_SIZE).floor() as i32
    }
}

fn bin_value(index: i32, width: u32) -> f64 {
    if index == NON_POSITIVE {
        0.0
    } else {
        // The top bin's midpoint can lie past the largest finite value.
        ((f64::from(index) + 0.5) * BIN_SIZE * f64::from(width))
            .exp()
            .min(f64::MAX)
    }
}

impl Dist {
    pub(crate) fn new(v: f64) -> Self {
        Dist {
            exact: vec![(v, 1)],
            bins: None,
            min: v,
            max: v,
            count: 1,
            sum: v,
        }
    }

    pub(crate) fn record(&mut self, v: f64, n: u64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.count += n;
        self.sum += v * n as f64;
        if let Some(bins) = &mut self.bins {
            *bins.entry(bin_of(v)).or_insert(0) += n;
            return;
        }
        if let Some((_, c)) = self.exact.iter_mut().find(|(x, _)| *x == v) {
            *c += n;
            return;
        }
        match self.exact.len() < MAX_BINS {
            true => self.exact.push((v, n)),
            false => {
                let mut bins = BTreeMap::new();
                for (x, c) in self.exact.drain(..).chain(std::iter::once((v, n))) {
                    *bins.entry(bin_of(x)).or_insert(0) += c;
                }
                self.bins = Some(bins);
            }
        }
    }

    /// Fold another histogram of the same metric into this one.
    pub(crate) fn merge(&mut self, other: &Dist) {
        let (min, max, count, sum) = (self.min, self.max, self.count, self.sum);
        match &other.bins {
            None => {
                for (v, n) in &other.exact {
                    self.record(*v, *n);
                }
            }
            Some(bins) => {
                let mine = self.bins.get_or_insert_with(BTreeMap::new);
                for (x, c) in self.exact.drain(..) {
                    *mine.entry(bin_of(x)).or_insert(0) += c;
                }
                for (i, c) in bins {
                    *mine.entry(*i).or_insert(0) += c;
                }
            }
        }
        self.min = min.min(other.min);
        self.max = max.max(other.max);
        self.count = count + other.count;
        self.sum = sum + other.sum;
    }

    pub(crate) fn value(&self) -> HistogramValue {
        let (values, counts) = match &self.bins {
            None => {
                let mut exact = self.exact.clone();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                exact.into_iter().unzip()
            }
            Some(bins) => {
                let mut width = 1u32;
                let mut merged: BTreeMap<i32, u64> = bins.clone();
                while merged.len() > MAX_BINS {
                    width *= 2;
                    let mut next = BTreeMap::new();
                    for (i, c) in &merged {
                        let j = if *i == NON_POSITIVE {
                            *i
                        } else {
                            i.div_euclid(2)
                        };
                        *next.entry(j).or_insert(0) += c;
                    }
                    merged = next;
                }
                merged
                    .into_iter()
                    .map(|(i, c)| (bin_value(i, width), c))
                    .unzip()
            }
        };
        HistogramValue {
            values,
            counts,
            max: self.max,
            min: self.min,
            count: self.count,
            sum: self.sum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_up_to_100_distinct_values() {
        let mut d = Dist::new(3.0);
        for v in [1.0, 3.0, 2.0] {
            d.record(v, 1);
        }
        let h = d.value();
        assert_eq!(h.values, vec![1.0, 2.0, 3.0]);
        assert_eq!(h.counts, vec![1, 1, 2]);
        assert_eq!((h.min, h.max, h.count, h.sum), (1.0, 3.0, 4, 9.0));
    }

    #[test]
    fn past_100_values_are_binned_like_the_java_library() {
        let mut d = Dist::new(1.0);
        for v in 2..=101 {
            d.record(f64::from(v), 1);
        }
        let h = d.value();
        // 1..101 fall into 34 bins (as aws-embedded-metrics-java's Histogram gives).
        assert_eq!(h.values.len(), 34);
        assert_eq!(h.counts.iter().sum::<u64>(), 101);
        // Bin values as the Java library computes them (to the last digit or two: `exp` may
        // round differently between platforms).
        let near = |x: f64| h.values.iter().any(|v| ((v - x) / x).abs() < 1e-12);
        assert!(near(1.0488088481701516), "{:?}", h.values);
        assert!(near(26.79462220126615));
        assert!(near(101.7525332185665));
        assert_eq!((h.min, h.max, h.count, h.sum), (1.0, 101.0, 101, 5151.0));
        let mut d = Dist::new(1.0);
        for v in 2..=1000 {
            d.record(f64::from(v), 1);
        }
        assert_eq!(d.value().values.len(), 58);
    }

    #[test]
    fn wide_ranges_merge_bins_down_to_100() {
        let mut d = Dist::new(0.0);
        let mut v = 1e-6;
        while v < 1e9 {
            d.record(v, 1);
            v *= 1.05;
        }
        let h = d.value();
        assert!(h.values.len() <= 100, "{}", h.values.len());
        assert_eq!(h.values[0], 0.0);
        assert_eq!(h.counts.iter().sum::<u64>(), h.count);
        assert!(h.values.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn merging_keeps_exact_statistics() {
        let mut a = Dist::new(1.0);
        let mut b = Dist::new(5.0);
        for v in 0..150 {
            b.record(f64::from(v) + 10.0, 1);
        }
        a.merge(&b);
        let h = a.value();
        assert_eq!(h.count, 152);
        assert_eq!(h.min, 1.0);
        assert_eq!(h.max, 159.0);
        assert_eq!(h.counts.iter().sum::<u64>(), 152);
    }
}
