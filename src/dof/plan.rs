//! Work culling for the GPU renderer: which rows and tiles each plane can touch.
//!
//! A plane only changes the accumulators where its blurred mask `Mb` is non-zero, that is
//! within the kernel's reach of a pixel whose disparity lies in the plane's band. The
//! planner finds those places per 16x16 tile from each tile's disparity range and lists
//! them, so each GPU pass is dispatched over exactly the tiles (or rows) it needs. Planes
//! with an empty mask are dropped. Everything outside the lists is provably left unchanged,
//! which is why culling costs no accuracy.

use super::{Params, Plane};

/// Side of a square tile, pixels; also the GPU workgroup side.
pub const TILE: u32 = 8;

/// A range of `u32`s inside [`FramePlan::lists`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slice {
    pub offset: u32,
    pub count: u32,
}

/// The GPU work of one plane.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneWork {
    pub plane: Plane,
    /// Size of the grid the plane is blurred on (the frame divided by `plane.scale`).
    pub grid_width: u32,
    pub grid_height: u32,
    /// Kernel row half-widths.
    pub spans: Slice,
    /// Grid rows whose prefix sums the blur reads (rows whose mask is empty are left out).
    pub rows: Slice,
    /// Per grid row, `begin, end`: the columns outside which the row's mask is zero, so its
    /// prefix sum is 0 before `begin` and constant from `end - 1` on (`begin == end`: empty).
    pub row_spans: Slice,
    /// Grid tiles to blur, packed `x | y << 16`.
    pub blur_tiles: Slice,
    /// Full-resolution tiles to composite from the downsampled blur (empty when `scale == 1`,
    /// where the blur pass composites directly).
    pub composite_tiles: Slice,
}

/// Everything the GPU needs besides the images, rebuilt each frame into reused storage.
#[derive(Debug, Default)]
pub struct FramePlan {
    pub planes: Vec<PlaneWork>,
    /// Spans, rows and tiles of all planes, one after the other.
    pub lists: Vec<u32>,
    tile_min: Vec<f32>,
    tile_max: Vec<f32>,
    near: Vec<bool>,
    reach: Vec<bool>,
    scratch: Vec<bool>,
    grid_marks: Vec<bool>,
    row_marks: Vec<bool>,
    /// Per tile row: the first and one-past-last tile column holding mask pixels.
    tile_row_spans: Vec<(u32, u32)>,
}

impl FramePlan {
    /// Plans one frame. `disparity` must already be clamped into the sweep range.
    pub fn build(&mut self, disparity: &[f32], width: u32, height: u32, params: &Params) {
        self.planes.clear();
        self.lists.clear();
        let tiles_x = width.div_ceil(TILE) as usize;
        let tiles_y = height.div_ceil(TILE) as usize;
        self.tile_ranges(disparity, width as usize, height as usize, tiles_x, tiles_y);
        let reach = params.mask_reach();

        for plane in params.planes() {
            let d = plane.disparity;
            self.near.clear();
            self.near.extend(
                self.tile_min
                    .iter()
                    .zip(&self.tile_max)
                    .map(|(lo, hi)| *lo <= d + reach && *hi >= d - reach),
            );
            if !self.near.contains(&true) {
                continue;
            }
            // Full-resolution reach of the blurred mask, pixels: the kernel, plus the
            // downsampling footprint and bilinear support when the plane is downsampled.
            let full_radius = plane.kernel.radius.max(0.0) * plane.scale;
            let mut margin = full_radius.ceil() as u32;
            if plane.scale > 1.0 {
                margin += (2.0 * plane.scale).ceil() as u32 + 2;
            }
            let dilation = margin.div_ceil(TILE) as usize;
            self.reach.clone_from(&self.near);
            dilate(
                &mut self.reach,
                &mut self.scratch,
                tiles_x,
                tiles_y,
                dilation,
            );

            let (grid_width, grid_height) = if plane.scale > 1.0 {
                (
                    ((width as f32 / plane.scale).ceil() as u32).max(1),
                    ((height as f32 / plane.scale).ceil() as u32).max(1),
                )
            } else {
                (width, height)
            };
            let grid_tiles_x = grid_width.div_ceil(TILE) as usize;
            let grid_tiles_y = grid_height.div_ceil(TILE) as usize;

            let spans = self.push(plane.kernel.spans.iter().copied());

            // Grid tiles to blur.
            self.grid_marks.clear();
            self.grid_marks.resize(grid_tiles_x * grid_tiles_y, false);
            let mut composite = Vec::new();
            for ty in 0..tiles_y {
                for tx in 0..tiles_x {
                    if !self.reach[ty * tiles_x + tx] {
                        continue;
                    }
                    if plane.scale > 1.0 {
                        composite.push(tx as u32 | (ty as u32) << 16);
                        let (gx0, gx1) = grid_span(tx as u32, width, grid_width, plane.scale);
                        let (gy0, gy1) = grid_span(ty as u32, height, grid_height, plane.scale);
                        for gy in gy0..=gy1 {
                            for gx in gx0..=gx1 {
                                self.grid_marks[gy as usize * grid_tiles_x + gx as usize] = true;
                            }
                        }
                    } else {
                        self.grid_marks[ty * grid_tiles_x + tx] = true;
                    }
                }
            }

            // Where each grid row's mask can be non-zero: the near tiles its footprint rows touch.
            self.tile_row_spans.clear();
            self.tile_row_spans.extend((0..tiles_y).map(|ty| {
                let row = &self.near[ty * tiles_x..(ty + 1) * tiles_x];
                match (row.iter().position(|n| *n), row.iter().rposition(|n| *n)) {
                    (Some(first), Some(last)) => (first as u32, last as u32 + 1),
                    _ => (0, 0),
                }
            }));
            let row_spans = Slice {
                offset: self.lists.len() as u32,
                count: 2 * grid_height,
            };
            for gy in 0..grid_height {
                let (first_row, last_row) = if plane.scale > 1.0 {
                    let y0 = (gy as f32 * plane.scale).floor() as u32;
                    let y1 = ((gy + 1) as f32 * plane.scale).floor() as u32;
                    (y0.min(height - 1), y1.max(y0 + 1).min(height) - 1)
                } else {
                    (gy, gy)
                };
                let (mut begin, mut end) = (u32::MAX, 0);
                for ty in first_row / TILE..=last_row / TILE {
                    let (first, last) = self.tile_row_spans[ty as usize];
                    if first < last {
                        begin = begin.min(first * TILE);
                        end = end.max((last * TILE).min(width));
                    }
                }
                let (begin, end) = if begin >= end {
                    (0, 0)
                } else if plane.scale > 1.0 {
                    // Grid columns whose footprint can overlap [begin, end), with a column to spare.
                    (
                        ((begin as f32 / plane.scale).floor() as u32).saturating_sub(1),
                        ((end as f32 / plane.scale).ceil() as u32 + 1).min(grid_width),
                    )
                } else {
                    (begin, end)
                };
                self.lists.extend([begin, end]);
            }

            // Rows whose prefix sums those tiles read: tile rows widened by the kernel.
            let rows_reach = plane.kernel.rows();
            self.row_marks.clear();
            self.row_marks.resize(grid_height as usize, false);
            for gy in 0..grid_tiles_y {
                if !self.grid_marks[gy * grid_tiles_x..(gy + 1) * grid_tiles_x].contains(&true) {
                    continue;
                }
                let first = (gy as u32 * TILE).saturating_sub(rows_reach);
                let last = ((gy as u32 + 1) * TILE - 1 + rows_reach).min(grid_height - 1);
                self.row_marks[first as usize..=last as usize].fill(true);
            }

            let rows = Slice {
                offset: self.lists.len() as u32,
                count: 0,
            };
            for y in 0..grid_height as usize {
                let span = row_spans.offset as usize + 2 * y;
                if self.row_marks[y] && self.lists[span] < self.lists[span + 1] {
                    self.lists.push(y as u32);
                }
            }
            let rows = Slice {
                count: self.lists.len() as u32 - rows.offset,
                ..rows
            };
            let blur_tiles = Slice {
                offset: self.lists.len() as u32,
                count: 0,
            };
            for (i, marked) in self.grid_marks.iter().enumerate() {
                if *marked {
                    self.lists
                        .push((i % grid_tiles_x) as u32 | ((i / grid_tiles_x) as u32) << 16);
                }
            }
            let blur_tiles = Slice {
                count: self.lists.len() as u32 - blur_tiles.offset,
                ..blur_tiles
            };
            let composite_tiles = self.push(composite.into_iter());

            self.planes.push(PlaneWork {
                plane,
                grid_width,
                grid_height,
                spans,
                rows,
                row_spans,
                blur_tiles,
                composite_tiles,
            });
        }
    }

    fn push(&mut self, values: impl Iterator<Item = u32>) -> Slice {
        let offset = self.lists.len() as u32;
        self.lists.extend(values);
        Slice {
            offset,
            count: self.lists.len() as u32 - offset,
        }
    }

    /// Minimum and maximum disparity of each tile.
    fn tile_ranges(
        &mut self,
        disparity: &[f32],
        width: usize,
        height: usize,
        tiles_x: usize,
        tiles_y: usize,
    ) {
        let tile = TILE as usize;
        self.tile_min.clear();
        self.tile_min.resize(tiles_x * tiles_y, f32::INFINITY);
        self.tile_max.clear();
        self.tile_max.resize(tiles_x * tiles_y, f32::NEG_INFINITY);
        for y in 0..height {
            let row = &disparity[y * width..(y + 1) * width];
            let tile_row = (y / tile) * tiles_x;
            for (tx, chunk) in row.chunks(tile).enumerate() {
                let (lo, hi) = chunk
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), d| {
                        (lo.min(*d), hi.max(*d))
                    });
                let t = tile_row + tx;
                self.tile_min[t] = self.tile_min[t].min(lo);
                self.tile_max[t] = self.tile_max[t].max(hi);
            }
        }
    }
}

/// Grid tiles (inclusive range) that a full-resolution tile's bilinear upsampling reads.
fn grid_span(tile: u32, full: u32, grid: u32, scale: f32) -> (u32, u32) {
    let first_px = tile * TILE;
    let last_px = (first_px + TILE - 1).min(full - 1);
    let lo = ((first_px as f32 + 0.5) / scale - 0.5).floor().max(0.0) as u32;
    let hi = (((last_px as f32 + 0.5) / scale - 0.5).ceil() as u32 + 1).min(grid - 1);
    (lo.min(grid - 1) / TILE, hi / TILE)
}

/// Chebyshev dilation of a tile mask by `radius` tiles, separably.
fn dilate(mask: &mut [bool], scratch: &mut Vec<bool>, width: usize, height: usize, radius: usize) {
    if radius == 0 {
        return;
    }
    scratch.clear();
    scratch.resize(mask.len(), false);
    for y in 0..height {
        let row = &mask[y * width..(y + 1) * width];
        for x in 0..width {
            let lo = x.saturating_sub(radius);
            let hi = (x + radius).min(width - 1);
            scratch[y * width + x] = row[lo..=hi].contains(&true);
        }
    }
    for x in 0..width {
        for y in 0..height {
            let lo = y.saturating_sub(radius);
            let hi = (y + radius).min(height - 1);
            mask[y * width + x] = (lo..=hi).any(|yy| scratch[yy * width + x]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_planes_are_dropped_and_reach_follows_the_kernel() {
        // 64x32 frame: one near square (d = 40) on a far background (d = 0).
        let (w, h) = (64u32, 32u32);
        let disparity: Vec<f32> = (0..w * h)
            .map(|p| {
                if (p % w) < 16 && (p / w) < 16 {
                    40.0
                } else {
                    0.0
                }
            })
            .collect();
        let params = Params {
            aperture: 0.25,
            focus_disparity: 0.0,
            max_disparity: 40.0,
            max_kernel: 0,
            ..Default::default()
        };
        let mut plan = FramePlan::default();
        plan.build(&disparity, w, h, &params);
        // Planes 0 (far) and 40 (near) hold pixels; d = 4 also touches the far tiles, since
        // |0 - 4| < 1/a is false but the test is conservative at the band edge.
        let kept: Vec<f32> = plan.planes.iter().map(|p| p.plane.disparity).collect();
        assert!(kept.contains(&0.0) && kept.contains(&40.0), "{kept:?}");
        assert!(!kept.contains(&20.0), "{kept:?}");
        let near = plan
            .planes
            .iter()
            .find(|p| p.plane.disparity == 40.0)
            .unwrap();
        // The square covers 16 / TILE tiles a side; r = 10 reaches ceil(10 / TILE) tiles
        // further right and down (the frame ends on the left and top).
        let side = (16 / TILE + 10u32.div_ceil(TILE)).min(h / TILE);
        assert_eq!(near.blur_tiles.count, side * side.min(h.div_ceil(TILE)));
        assert_eq!(near.composite_tiles.count, 0);
        // Only the square's 16 rows hold mask pixels, each within columns 0..16.
        assert_eq!(near.rows.count, 16);
        let spans = &plan.lists[near.row_spans.offset as usize..][..2 * h as usize];
        assert_eq!(&spans[..2], &[0, 16]);
        assert_eq!(&spans[2 * 16..2 * 17], &[0, 0]);
    }

    #[test]
    fn downsampled_planes_list_grid_tiles_and_full_resolution_tiles() {
        let (w, h) = (200u32, 120u32);
        let disparity = vec![60.0f32; (w * h) as usize];
        let params = Params {
            aperture: 0.5,
            focus_disparity: 0.0,
            max_disparity: 60.0,
            max_kernel: 11,
            ..Default::default()
        };
        let mut plan = FramePlan::default();
        plan.build(&disparity, w, h, &params);
        let last = plan.planes.last().unwrap();
        assert!(last.plane.scale > 1.0);
        assert_eq!(last.grid_width, (w as f32 / last.plane.scale).ceil() as u32);
        assert_eq!(
            last.composite_tiles.count,
            w.div_ceil(TILE) * h.div_ceil(TILE)
        );
        assert_eq!(
            last.blur_tiles.count,
            last.grid_width.div_ceil(TILE) * last.grid_height.div_ceil(TILE)
        );
    }
}
