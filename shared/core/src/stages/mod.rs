//! The pure stages of the morning cycle. Each takes plain data and returns plain data with the
//! figures that decided it, so every row can say why.

pub mod budget_allocation;
pub mod calibrate;
pub mod campaign_watch;
pub mod classify;
pub mod cs;
pub mod decide;
pub mod discount;
pub mod plan;
pub mod research;
pub mod supplier_matcher;

/// Sums per SKU over a window of days.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowTotals {
    pub impressions: u64,
    pub clicks: u64,
    pub cost_micros: i64,
    pub conversions_milli: i64,
    pub value_micros: i64,
    /// Days with at least one impression.
    pub active_days: u32,
}

impl WindowTotals {
    pub fn add(&mut self, m: &crate::metrics::DailyMetric) {
        self.impressions += m.impressions;
        self.clicks += m.clicks;
        self.cost_micros += m.cost.micros();
        self.conversions_milli += m.conversions_milli;
        self.value_micros += m.conversion_value.micros();
        if m.impressions > 0 {
            self.active_days += 1;
        }
    }

    /// Return on ad spend in basis points (value ÷ cost × 10 000); None without spend.
    pub fn roas_bp(&self) -> Option<i64> {
        (self.cost_micros > 0)
            .then(|| (i128::from(self.value_micros) * 10_000 / i128::from(self.cost_micros)) as i64)
    }
}

/// `percentile_cont(p)` over sorted integers, `p` in basis points (7 500 = p75): linear
/// interpolation between the two nearest ranks, rounded down. None for an empty set.
pub fn percentile_cont(sorted: &[i64], p_bp: u32) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos_num = u128::from(p_bp) * (n as u128 - 1); // rank × 10 000
    let lo = (pos_num / 10_000) as usize;
    let rem = (pos_num % 10_000) as i128;
    let lo_v = i128::from(sorted[lo]);
    let hi_v = i128::from(*sorted.get(lo + 1).unwrap_or(&sorted[lo]));
    Some((lo_v + ((hi_v - lo_v) * rem).div_euclid(10_000)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_cont_interpolates_like_sql() {
        // percentile_cont(0.75) of 10,20,30,40 = 32.5 → 32 (rounded down).
        assert_eq!(percentile_cont(&[10, 20, 30, 40], 7_500), Some(32));
        assert_eq!(percentile_cont(&[10, 20, 30, 40, 50], 7_500), Some(40));
        assert_eq!(percentile_cont(&[7], 7_500), Some(7));
        assert_eq!(percentile_cont(&[], 7_500), None);
        assert_eq!(percentile_cont(&[5, 5, 5], 2_500), Some(5));
        assert_eq!(percentile_cont(&[0, 100], 5_000), Some(50));
    }
}
