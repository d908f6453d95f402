//! Work culling for the GPU renderer: which rows and tiles each plane can touch.
//!
//! A plane only changes the accumulators where its blurred mask `Mb` is non-zero, that is
//! within the kernel's reach of a pixel whose disparity lies in the plane's band. The
//! planner finds those places from the disparity range of each 4x4 sub-tile and lists the
//! 8x8 tiles (and rows) that hold them, so each GPU pass is dispatched over exactly the tiles (or rows) it needs. Planes
//! with an empty mask are dropped. Everything outside the lists is provably left unchanged,
//! which is why culling costs no accuracy.

use super::{Params, Plane};

/// Side of a square tile, pixels; also the GPU workgroup side.
pub const TILE: u32 = 8;
/// Side of the sub-tiles whose disparity ranges decide where a plane's mask can be non-zero.
pub const SUB: u32 = 4;
const PER_TILE: usize = (TILE / SUB) as usize;

/// A range of `u32`s inside [`FramePlan::lists`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slice {
    pub offset: u32,
    pub count: u32,
}

/// The GPU work of one plane, on its level's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneWork {
    pub plane: Plane,
    /// Size of the level's grid: the frame divided by `2^L`, rounded up.
    pub grid_width: u32,
    pub grid_height: u32,
    /// Kernel row half-widths.
    pub spans: Slice,
    /// Grid rows whose prefix sums the blur reads (rows whose mask is empty are left out).
    pub rows: Slice,
    /// Per grid row, `begin | end << 16`: the columns outside which the row's mask is zero,
    /// so its prefix sum is 0 before `begin` and constant from `end` on (`begin == end`: empty).
    /// This and `rows` are listed for the exact path only.
    pub row_spans: Slice,
    /// Grid tiles to blur, packed `x | y << 16`.
    pub blur_tiles: Slice,
    /// Grid tiles whose cells the blur reads: the blur tiles widened by the kernel.
    pub cell_tiles: Slice,
}

/// Everything the GPU needs besides the images, rebuilt each frame into reused storage.
#[derive(Debug, Default)]
pub struct FramePlan {
    pub planes: Vec<PlaneWork>,
    /// Spans, rows and tiles of all planes, one after the other.
    pub lists: Vec<u32>,
    /// Disparity range of each sub-tile.
    sub_ranges: Vec<[f32; 2]>,
    /// Sub-tiles holding pixels of the plane's band.
    near: Vec<bool>,
    sub_marks: Vec<bool>,
    grid_marks: Vec<bool>,
    scratch: Vec<bool>,
    row_marks: Vec<bool>,
    /// Per sub-tile row: the first and one-past-last sub-tile column holding mask pixels.
    sub_row_spans: Vec<(u32, u32)>,
}

impl FramePlan {
    /// Plans one frame. `disparity` must already be clamped into the sweep range; planes
    /// are put on level `max_level` at most (the frame's coarsest grid). `prefix_rows`: also
    /// list the rows and row spans the exact path's prefix sums need.
    pub fn build(
        &mut self,
        disparity: &[f32],
        width: u32,
        height: u32,
        params: &Params,
        max_level: u32,
        prefix_rows: bool,
    ) {
        self.planes.clear();
        self.lists.clear();
        let subs_x = width.div_ceil(SUB) as usize;
        let subs_y = height.div_ceil(SUB) as usize;
        self.measure_sub_ranges(disparity, width as usize, height as usize, subs_x, subs_y);

        for plane in params.planes() {
            let plane = plane.at_most(max_level);
            let d = plane.disparity;
            self.near.clear();
            self.near.extend(
                self.sub_ranges
                    .iter()
                    .map(|[lo, hi]| params.band_meets(*lo, *hi, d)),
            );
            if !self.near.contains(&true) {
                continue;
            }
            let level = plane.level;
            let grid_width = width.div_ceil(plane.scale());
            let grid_height = height.div_ceil(plane.scale());
            let grid_tiles_x = grid_width.div_ceil(TILE) as usize;
            let grid_tiles_y = grid_height.div_ceil(TILE) as usize;
            let kernel_rows = plane.kernel.rows();
            let spans = self.push(plane.kernel.spans.iter().copied());

            // Grid tiles to blur: those within the kernel's reach of a near sub-tile.
            self.grid_marks.clear();
            self.grid_marks.resize(grid_tiles_x * grid_tiles_y, false);
            if level == 0 {
                // Widened at sub-tile precision, then pooled into tiles.
                self.sub_marks.clone_from(&self.near);
                dilate(
                    &mut self.sub_marks,
                    &mut self.scratch,
                    subs_x,
                    subs_y,
                    kernel_rows.div_ceil(SUB) as usize,
                );
                for (i, marked) in self.sub_marks.iter().enumerate() {
                    if *marked {
                        let (sx, sy) = (i % subs_x, i / subs_x);
                        self.grid_marks[sy / PER_TILE * grid_tiles_x + sx / PER_TILE] = true;
                    }
                }
            } else {
                // Sub-tile (sx, sy) falls in grid tile (sx, sy) >> (L + 1) (a tile is 8 cells
                // of 2^L pixels, a sub-tile 4 pixels); then widened in tiles.
                for (i, near) in self.near.iter().enumerate() {
                    if *near {
                        let (sx, sy) = (i % subs_x, i / subs_x);
                        self.grid_marks[(sy >> (level + 1)) * grid_tiles_x + (sx >> (level + 1))] =
                            true;
                    }
                }
                self.widen_marks(grid_tiles_x, grid_tiles_y, kernel_rows);
            }

            let (row_spans, rows) = if prefix_rows {
                self.push_rows(level, width, height, grid_height, grid_tiles_x, kernel_rows)
            } else {
                (Slice::default(), Slice::default())
            };
            let blur_tiles = self.push_marked(grid_tiles_x);
            self.widen_marks(grid_tiles_x, grid_tiles_y, kernel_rows);
            let cell_tiles = self.push_marked(grid_tiles_x);

            self.planes.push(PlaneWork {
                plane,
                grid_width,
                grid_height,
                spans,
                rows,
                row_spans,
                blur_tiles,
                cell_tiles,
            });
        }
    }

    /// Minimum and maximum disparity of each 4x4 sub-tile, row by row.
    pub fn sub_ranges(&self) -> &[[f32; 2]] {
        &self.sub_ranges
    }

    /// Per grid row, where the plane's mask can be non-zero (`row_spans`), and the rows the
    /// exact path's blur reads (`rows`): those near the marked tiles, widened by the kernel.
    fn push_rows(
        &mut self,
        level: u32,
        width: u32,
        height: u32,
        grid_height: u32,
        grid_tiles_x: usize,
        kernel_rows: u32,
    ) -> (Slice, Slice) {
        let subs_x = width.div_ceil(SUB) as usize;
        let subs_y = height.div_ceil(SUB) as usize;
        let grid_tiles_y = grid_height.div_ceil(TILE) as usize;
        // Where each grid row's mask can be non-zero: the near sub-tiles its footprint
        // rows touch.
        self.sub_row_spans.clear();
        self.sub_row_spans.extend((0..subs_y).map(|sy| {
            let row = &self.near[sy * subs_x..(sy + 1) * subs_x];
            match (row.iter().position(|n| *n), row.iter().rposition(|n| *n)) {
                (Some(first), Some(last)) => (first as u32, last as u32 + 1),
                _ => (0, 0),
            }
        }));
        let row_spans = Slice {
            offset: self.lists.len() as u32,
            count: grid_height,
        };
        for gy in 0..grid_height {
            let first_row = gy << level;
            let last_row = (((gy + 1) << level) - 1).min(height - 1);
            let (mut begin, mut end) = (u32::MAX, 0);
            for sy in first_row / SUB..=last_row / SUB {
                let (first, last) = self.sub_row_spans[sy as usize];
                if first < last {
                    begin = begin.min(first * SUB);
                    end = end.max((last * SUB).min(width));
                }
            }
            let packed = if begin >= end {
                0
            } else {
                (begin >> level) | (((end - 1) >> level) + 1) << 16
            };
            self.lists.push(packed);
        }

        // Rows whose prefix sums those tiles read: tile rows widened by the kernel.
        self.row_marks.clear();
        self.row_marks.resize(grid_height as usize, false);
        for gy in 0..grid_tiles_y {
            if !self.grid_marks[gy * grid_tiles_x..(gy + 1) * grid_tiles_x].contains(&true) {
                continue;
            }
            let first = (gy as u32 * TILE).saturating_sub(kernel_rows);
            let last = ((gy as u32 + 1) * TILE - 1 + kernel_rows).min(grid_height - 1);
            self.row_marks[first as usize..=last as usize].fill(true);
        }
        let rows_offset = self.lists.len() as u32;
        for y in 0..grid_height as usize {
            let span = self.lists[row_spans.offset as usize + y];
            if self.row_marks[y] && span != 0 {
                self.lists.push(y as u32);
            }
        }
        let rows = Slice {
            offset: rows_offset,
            count: self.lists.len() as u32 - rows_offset,
        };
        (row_spans, rows)
    }

    /// Lists the marked grid tiles, packed `x | y << 16`.
    fn push_marked(&mut self, grid_tiles_x: usize) -> Slice {
        let offset = self.lists.len() as u32;
        for (i, marked) in self.grid_marks.iter().enumerate() {
            if *marked {
                self.lists
                    .push((i % grid_tiles_x) as u32 | ((i / grid_tiles_x) as u32) << 16);
            }
        }
        Slice {
            offset,
            count: self.lists.len() as u32 - offset,
        }
    }

    /// Widens the marked grid tiles by the reach of a kernel of `kernel_rows` rows.
    fn widen_marks(&mut self, grid_tiles_x: usize, grid_tiles_y: usize, kernel_rows: u32) {
        dilate(
            &mut self.grid_marks,
            &mut self.scratch,
            grid_tiles_x,
            grid_tiles_y,
            kernel_rows.div_ceil(TILE) as usize,
        );
    }

    fn push(&mut self, values: impl Iterator<Item = u32>) -> Slice {
        let offset = self.lists.len() as u32;
        self.lists.extend(values);
        Slice {
            offset,
            count: self.lists.len() as u32 - offset,
        }
    }

    /// Minimum and maximum disparity of each sub-tile.
    fn measure_sub_ranges(
        &mut self,
        disparity: &[f32],
        width: usize,
        height: usize,
        subs_x: usize,
        subs_y: usize,
    ) {
        let sub = SUB as usize;
        self.sub_ranges.clear();
        self.sub_ranges
            .resize(subs_x * subs_y, [f32::INFINITY, f32::NEG_INFINITY]);
        for y in 0..height {
            let row = &disparity[y * width..(y + 1) * width];
            let sub_row = (y / sub) * subs_x;
            for (sx, chunk) in row.chunks(sub).enumerate() {
                let (lo, hi) = chunk
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), d| {
                        (lo.min(*d), hi.max(*d))
                    });
                let t = sub_row + sx;
                let range = &mut self.sub_ranges[t];
                *range = [range[0].min(lo), range[1].max(hi)];
            }
        }
    }
}

/// Chebyshev dilation of a tile mask by `radius` tiles, separably, with running counts so
/// its cost does not grow with the radius.
fn dilate(mask: &mut [bool], scratch: &mut Vec<bool>, width: usize, height: usize, radius: usize) {
    if radius == 0 {
        return;
    }
    scratch.clear();
    scratch.resize(mask.len(), false);
    dilate_lines(mask, scratch, height, width, 1, width, radius);
    dilate_lines(scratch, mask, width, height, width, 1, radius);
}

/// Dilates `lines` lines of `length` items (item `i` of line `j` at `j * line_step + i * step`).
fn dilate_lines(
    from: &[bool],
    to: &mut [bool],
    lines: usize,
    length: usize,
    step: usize,
    line_step: usize,
    radius: usize,
) {
    for line in 0..lines {
        let at = |i: usize| line * line_step + i * step;
        // Marked items in the window [i - radius, i + radius].
        let mut count = (0..=radius.min(length - 1))
            .filter(|&i| from[at(i)])
            .count();
        for i in 0..length {
            to[at(i)] = count > 0;
            if i + radius + 1 < length && from[at(i + radius + 1)] {
                count += 1;
            }
            if i >= radius && from[at(i - radius)] {
                count -= 1;
            }
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
        plan.build(&disparity, w, h, &params, crate::dof::MAX_LEVEL, true);
        // Only planes 0 (far) and 40 (near) hold pixels: |0 - 4| < 1/a is false at the band
        // edge.
        let kept: Vec<f32> = plan.planes.iter().map(|p| p.plane.disparity).collect();
        assert_eq!(kept, vec![0.0, 40.0]);
        let near = plan
            .planes
            .iter()
            .find(|p| p.plane.disparity == 40.0)
            .unwrap();
        // The square covers 16 / TILE tiles a side; r = 10 reaches ceil(10 / TILE) tiles
        // further right and down (the frame ends on the left and top).
        let side = (16 / TILE + 10u32.div_ceil(TILE)).min(h / TILE);
        assert_eq!(near.blur_tiles.count, side * side.min(h.div_ceil(TILE)));
        // Only the square's 16 rows hold mask pixels, each within columns 0..16.
        assert_eq!(near.rows.count, 16);
        let spans = &plan.lists[near.row_spans.offset as usize..][..h as usize];
        assert_eq!(spans[0], 16 << 16);
        assert_eq!(spans[16], 0);
    }

    #[test]
    fn downsampled_planes_list_tiles_of_their_level_grid() {
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
        plan.build(&disparity, w, h, &params, crate::dof::MAX_LEVEL, true);
        let last = plan.planes.last().unwrap();
        // r = 30: (2r + 1) / 11 = 5.5, so level 3 (gamma 8): a 25x15 grid.
        assert_eq!(last.plane.level, 3);
        assert_eq!((last.grid_width, last.grid_height), (25, 15));
        assert_eq!(
            last.blur_tiles.count,
            last.grid_width.div_ceil(TILE) * last.grid_height.div_ceil(TILE)
        );
        // Every grid row holds mask cells over the whole width.
        let spans = &plan.lists[last.row_spans.offset as usize..][..15];
        assert!(spans.iter().all(|s| *s == 25 << 16), "{spans:?}");
    }

    #[test]
    fn dilation_matches_the_definition() {
        let (w, h) = (13usize, 7usize);
        let mask: Vec<bool> = (0..w * h).map(|i| i % 17 == 3 || i == 40).collect();
        for radius in 0..5 {
            let mut fast = mask.clone();
            dilate(&mut fast, &mut Vec::new(), w, h, radius);
            for y in 0..h {
                for x in 0..w {
                    let expected = (y.saturating_sub(radius)..=(y + radius).min(h - 1)).any(|yy| {
                        (x.saturating_sub(radius)..=(x + radius).min(w - 1))
                            .any(|xx| mask[yy * w + xx])
                    });
                    assert_eq!(fast[y * w + x], expected, "x={x} y={y} r={radius}");
                }
            }
        }
    }
}
