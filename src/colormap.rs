//! A perceptual colour map (viridis) for showing disparity.

/// Viridis at 9 evenly spaced stops (from matplotlib's table), RGB 0..255.
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [71.0, 44.0, 122.0],
    [59.0, 81.0, 139.0],
    [44.0, 113.0, 142.0],
    [33.0, 144.0, 141.0],
    [39.0, 173.0, 129.0],
    [92.0, 200.0, 99.0],
    [170.0, 220.0, 50.0],
    [253.0, 231.0, 37.0],
];

/// RGBA of `value` in `[low, high]` (far = dark violet, near = yellow); NaN is black.
pub fn viridis(value: f32, low: f32, high: f32) -> [u8; 4] {
    if !value.is_finite() {
        return [0, 0, 0, 255];
    }
    let t = if high > low {
        ((value - low) / (high - low)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let position = t * (VIRIDIS.len() - 1) as f32;
    let index = (position.floor() as usize).min(VIRIDIS.len() - 2);
    let f = position - index as f32;
    let (a, b) = (VIRIDIS[index], VIRIDIS[index + 1]);
    let channel = |c: usize| (a[c] + (b[c] - a[c]) * f).round() as u8;
    [channel(0), channel(1), channel(2), 255]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_clamping() {
        assert_eq!(viridis(0.0, 0.0, 10.0), [68, 1, 84, 255]);
        assert_eq!(viridis(10.0, 0.0, 10.0), [253, 231, 37, 255]);
        assert_eq!(viridis(99.0, 0.0, 10.0), [253, 231, 37, 255]);
        assert_eq!(viridis(f32::NAN, 0.0, 10.0), [0, 0, 0, 255]);
    }
}
