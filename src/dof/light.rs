//! What the planes blur: the encoded values as they come (the paper's Algorithm 1) or linear
//! light, with an optional boost of the highlights.
//!
//! A lens spreads light, not the gamma-encoded numbers of a video frame. Blurring encoded
//! values darkens every bright detail that spreads over a darker background: out-of-focus
//! lights become dim grey smudges. In [`Light::Linear`] each value `v` of the image is
//! decoded, `L = T^-1(v)` by the transfer function `T` of its caps, the planes blur `L`, and
//! `output = T(Is / Ms)` (clipped to [0, 1]).
//!
//! A frame clips what was brighter than white, so even in linear light a small light keeps
//! too little energy to make a bright disc. [`Highlights`] gives it back: on a plane of
//! circle of confusion `r_k`, a pixel of linear luminance `Y` (BT.709 weights) is blurred as
//! `L (1 + g w(r_k) max(Y - t, 0) / (1 - t))`, with threshold `t`, gain `g` and
//! `w(r) = clamp(r - 1/2, 0, 1)`, so planes in focus (`r < 1/2`, the identity kernel) keep
//! their values and a sharp light stays as it was.

/// A transfer function `T`: linear light to the encoded value, both in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transfer {
    /// IEC 61966-2-1 (the caps' `srgb`, RGB video's default).
    Srgb,
    /// ITU-R BT.709 / BT.601 / BT.2020 OETF (YUV video's).
    Bt709,
    /// `v = L^(1/gamma)` (`gamma10` is linear light already).
    Gamma(f32),
}

impl Transfer {
    /// `T^-1(v)`: the linear light of encoded value `v`.
    pub fn decode(self, v: f64) -> f64 {
        match self {
            Transfer::Srgb if v <= 0.04045 => v / 12.92,
            Transfer::Srgb => ((v + 0.055) / 1.055).powf(2.4),
            Transfer::Bt709 if v < 0.081 => v / 4.5,
            Transfer::Bt709 => ((v + 0.099) / 1.099).powf(1.0 / 0.45),
            Transfer::Gamma(gamma) => v.powf(f64::from(gamma)),
        }
    }

    /// `T(L)`: the encoded value of linear light `L` (in [0, 1]).
    pub fn encode(self, l: f64) -> f64 {
        match self {
            Transfer::Srgb if l <= 0.0031308 => l * 12.92,
            Transfer::Srgb => 1.055 * l.powf(1.0 / 2.4) - 0.055,
            Transfer::Bt709 if l < 0.018 => l * 4.5,
            Transfer::Bt709 => 1.099 * l.powf(0.45) - 0.099,
            Transfer::Gamma(gamma) => l.powf(1.0 / f64::from(gamma)),
        }
    }

    /// The shader's code for `T` (`frame.transfer`; 0 is no decoding) and its gamma.
    pub fn shader_code(self) -> (u32, f32) {
        match self {
            Transfer::Srgb => (1, 0.0),
            Transfer::Bt709 => (2, 0.0),
            Transfer::Gamma(gamma) => (3, gamma),
        }
    }
}

/// Boost of the highlights in linear light: threshold `t` in [0, 1) and gain `g` >= 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Highlights {
    pub threshold: f32,
    pub gain: f32,
}

/// Largest highlight gain: `(1 + g)` times the brightest value still fits the exact path's
/// fixed-point row sums of the widest kernel (see `shaders/layered_dof.wgsl`).
pub const MAX_HIGHLIGHT_GAIN: f32 = 16.0;
/// Largest highlight threshold (a threshold of 1 would boost nothing).
pub const MAX_HIGHLIGHT_THRESHOLD: f32 = 0.99;

impl Highlights {
    /// No boost.
    pub const NONE: Highlights = Highlights {
        threshold: 0.8,
        gain: 0.0,
    };

    /// `g w(r) / (1 - t)`: the factor of `max(Y - t, 0)` on a plane of circle of confusion
    /// `radius` (full-resolution pixels).
    pub fn slope(&self, radius: f32) -> f32 {
        let w = (radius - 0.5).clamp(0.0, 1.0);
        self.gain * w / (1.0 - self.threshold)
    }
}

/// BT.709 luminance weights of linear RGB.
pub const LUMINANCE: [f64; 3] = [0.2126, 0.7152, 0.0722];

/// What the planes blur.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Light {
    /// The encoded values (Algorithm 1 as the paper writes it).
    Encoded,
    /// Linear light, decoded and encoded by `transfer`, with `highlights` boosted.
    Linear {
        transfer: Transfer,
        highlights: Highlights,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_invert_each_other_and_meet_their_standards() {
        for transfer in [Transfer::Srgb, Transfer::Bt709, Transfer::Gamma(2.2)] {
            for step in 0..=100 {
                let l = f64::from(step) / 100.0;
                let back = transfer.decode(transfer.encode(l));
                assert!((back - l).abs() < 1e-9, "{transfer:?} at {l}: {back}");
            }
            assert_eq!(transfer.decode(0.0), 0.0);
            assert!((transfer.decode(1.0) - 1.0).abs() < 1e-9);
        }
        // Mid grey: sRGB 0.5 is 21.4% linear, BT.709 0.5 is 26.0%.
        assert!((Transfer::Srgb.decode(0.5) - 0.2140).abs() < 1e-4);
        assert!((Transfer::Bt709.decode(0.5) - 0.2596).abs() < 1e-4);
        assert_eq!(Transfer::Gamma(1.0).decode(0.2), 0.2);
    }

    #[test]
    fn highlights_spare_planes_in_focus() {
        let boost = Highlights {
            threshold: 0.5,
            gain: 4.0,
        };
        assert_eq!(boost.slope(0.4), 0.0);
        assert_eq!(boost.slope(1.0), 4.0);
        assert_eq!(boost.slope(9.0), 8.0);
        assert_eq!(Highlights::NONE.slope(9.0), 0.0);
    }
}
