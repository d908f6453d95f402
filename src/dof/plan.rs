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
/// Side, in cells, of the blocks of [`PlaneWork::cell_blocks`] on level `level`: a sub-tile's
/// cells (4 x 4 at full resolution, 2 x 2 on level 1), or one cell from level 2 on.
pub fn cell_block_side(level: u32) -> u32 {
    (SUB >> level.min(2)).max(1)
}

/// The first cell, on level `level`'s grid, of sub-tile `i` (row by row, `subs_x` a row).
fn sub_tile_cell(i: u32, subs_x: usize, level: u32) -> (u32, u32) {
    let subs_x = subs_x as u32;
    ((i % subs_x * SUB) >> level, (i / subs_x * SUB) >> level)
}

/// A bounding box holding nothing.
const EMPTY_BOX: [u32; 4] = [u32::MAX, u32::MAX, 0, 0];

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
    /// The kernel's rows (`Kernel::packed_spans`).
    pub spans: Slice,
    /// Grid rows whose prefix sums the blur reads (rows whose mask is empty are left out).
    pub rows: Slice,
    /// Per grid row, `begin | end << 16`: the columns outside which the row's mask is zero,
    /// so its prefix sum is 0 before `begin` and constant from `end` on (`begin == end`: empty).
    /// This and `rows` are listed for the exact path only.
    pub row_spans: Slice,
    /// Grid tiles to blur, packed `x | y << 16`.
    pub blur_tiles: Slice,
    /// Blocks of cells where the plane's mask can be non-zero, packed `x | y << 16` (the
    /// block's first cell), [`cell_block_side`] cells a side: the fast path writes those cells
    /// before the blur and zeroes them after it, so that every other cell reads zero.
    pub cell_blocks: Slice,
}

/// Lists of sub-tile indices, one per plane: plane `k`'s is `items[offsets[k]..offsets[k + 1]]`.
#[derive(Debug, Default)]
struct NearLists {
    offsets: Vec<usize>,
    items: Vec<u32>,
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
    /// Per sub-tile, the planes `first..end` its disparity range meets.
    near_runs: Vec<(u32, u32)>,
    /// Per plane, the sub-tiles that meet its band.
    near_lists: NearLists,
    grid_marks: Vec<bool>,
    /// Per grid tile, the bounding box of its near cells, `[x0, y0, x1, y1]` (grid cells).
    near_boxes: Vec<[u32; 4]>,
    scratch: Vec<bool>,
    row_marks: Vec<bool>,
    /// Per sub-tile row: the first and one-past-last sub-tile column holding mask pixels.
    sub_row_spans: Vec<(u32, u32)>,
}

impl FramePlan {
    /// Plans one frame. `disparities`: the disparity of each pixel, already clamped into the
    /// sweep range, and of any layer behind it (the planes must meet every one); planes
    /// are put on level `max_level` at most (the frame's coarsest grid). `prefix_rows`: also
    /// list the rows and row spans the exact path's prefix sums need.
    pub fn build(
        &mut self,
        disparities: &[&[f32]],
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
        self.sub_ranges.clear();
        self.sub_ranges
            .resize(subs_x * subs_y, [f32::INFINITY, f32::NEG_INFINITY]);
        for disparity in disparities {
            self.measure_sub_ranges(disparity, width as usize, subs_x);
        }

        let planes = params.planes();
        self.list_near_sub_tiles(&planes, params);
        let near_lists = std::mem::take(&mut self.near_lists);
        for (k, plane) in planes.into_iter().enumerate() {
            let near_list = &near_lists.items[near_lists.offsets[k]..near_lists.offsets[k + 1]];
            if near_list.is_empty() {
                continue;
            }
            let plane = plane.at_most(max_level, params.shape);
            let level = plane.level;
            // The exact path's rows need the sub-tiles as a mask.
            if prefix_rows {
                self.near.clear();
                self.near.resize(subs_x * subs_y, false);
                for &i in near_list {
                    self.near[i as usize] = true;
                }
            }
            let grid_width = width.div_ceil(plane.scale());
            let grid_height = height.div_ceil(plane.scale());
            let grid_tiles_x = grid_width.div_ceil(TILE) as usize;
            let grid_tiles_y = grid_height.div_ceil(TILE) as usize;
            let kernel_rows = plane.kernel.rows();
            let spans = self.push(plane.kernel.packed_spans());

            // Grid tiles to blur: those within the kernel's reach of a near sub-tile.
            self.grid_marks.clear();
            self.grid_marks.resize(grid_tiles_x * grid_tiles_y, false);
            if level == 0 {
                // Widened at sub-tile precision, then pooled into tiles.
                let reach = kernel_rows.div_ceil(SUB) as usize;
                mark_tiles_within(
                    &mut self.grid_marks,
                    grid_tiles_x,
                    near_list,
                    subs_x,
                    subs_y,
                    reach,
                );
            } else {
                // Each near sub-tile's cells, in the bounding box of its grid tile's near cells
                // (a sub-tile's cells lie in one tile: 4 pixels divide a tile's 8 cells).
                self.near_boxes.clear();
                self.near_boxes
                    .resize(grid_tiles_x * grid_tiles_y, EMPTY_BOX);
                let side = cell_block_side(level);
                for &i in near_list {
                    let (x0, y0) = sub_tile_cell(i, subs_x, level);
                    let x1 = (x0 + side - 1).min(grid_width - 1);
                    let y1 = (y0 + side - 1).min(grid_height - 1);
                    let tile = (y0 / TILE) as usize * grid_tiles_x + (x0 / TILE) as usize;
                    let b = &mut self.near_boxes[tile];
                    *b = [b[0].min(x0), b[1].min(y0), b[2].max(x1), b[3].max(y1)];
                }
                // The tiles that each tile's box of near cells, widened by the kernel, meets.
                for b in &self.near_boxes {
                    if b[0] > b[2] {
                        continue;
                    }
                    let tiles = |lo: u32, hi: u32, grid: u32| {
                        lo.saturating_sub(kernel_rows) / TILE
                            ..=(hi + kernel_rows).min(grid - 1) / TILE
                    };
                    for ty in tiles(b[1], b[3], grid_height) {
                        let row = ty as usize * grid_tiles_x;
                        for tx in tiles(b[0], b[2], grid_width) {
                            self.grid_marks[row + tx as usize] = true;
                        }
                    }
                }
            }

            let (row_spans, rows) = if prefix_rows {
                self.push_rows(level, width, height, grid_height, grid_tiles_x, kernel_rows)
            } else {
                (Slice::default(), Slice::default())
            };
            let blur_tiles = self.push_marked(grid_tiles_x);
            let cell_blocks =
                self.push_cell_blocks(near_list, level, subs_x, grid_width, grid_height);

            self.planes.push(PlaneWork {
                plane,
                grid_width,
                grid_height,
                spans,
                rows,
                row_spans,
                blur_tiles,
                cell_blocks,
            });
        }
        self.near_lists = near_lists;
    }

    /// For each plane, the sub-tiles whose disparity range meets its band, in order.
    ///
    /// Planes are sorted by disparity and a band is an interval, so each sub-tile meets a run
    /// of consecutive planes: its ends are walked to from where the planes' even spacing puts
    /// them, with the exact test (`Params::band_meets`).
    fn list_near_sub_tiles(&mut self, planes: &[super::Plane], params: &Params) {
        let runs = &mut self.near_runs;
        runs.clear();
        // Planes are 1/a apart from the first: a guess one band's width off the bounds leaves
        // a step or two to walk.
        let first_plane = planes.first().map_or(0.0, |p| p.disparity);
        let plane_near = |d: f32| ((d - first_plane) * params.aperture).max(0.0) as usize;
        runs.extend(self.sub_ranges.iter().map(|&[lo, hi]| {
            let first = partition_point_near(planes, plane_near(lo).saturating_sub(1), |p| {
                p.disparity < lo && !params.band_meets(lo, hi, p.disparity)
            });
            let end = partition_point_near(planes, plane_near(hi) + 2, |p| {
                p.disparity <= hi || params.band_meets(lo, hi, p.disparity)
            });
            (first as u32, end.max(first) as u32)
        }));
        let lists = &mut self.near_lists;
        lists.offsets.clear();
        lists.offsets.resize(planes.len() + 1, 0);
        for &(first, end) in runs.iter() {
            for k in first..end {
                lists.offsets[k as usize + 1] += 1;
            }
        }
        for k in 0..planes.len() {
            lists.offsets[k + 1] += lists.offsets[k];
        }
        lists.items.clear();
        lists.items.resize(lists.offsets[planes.len()], 0);
        let mut next = lists.offsets.clone();
        for (i, &(first, end)) in runs.iter().enumerate() {
            for k in first..end {
                lists.items[next[k as usize]] = i as u32;
                next[k as usize] += 1;
            }
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

    /// Lists the cells of the near sub-tiles `near_list` on level `level`'s grid, as blocks
    /// of [`cell_block_side`] cells: a sub-tile's cells up to level 2, or else the cell
    /// holding it (once per cell).
    fn push_cell_blocks(
        &mut self,
        near_list: &[u32],
        level: u32,
        subs_x: usize,
        grid_width: u32,
        grid_height: u32,
    ) -> Slice {
        let offset = self.lists.len() as u32;
        // Up to level 2 each near sub-tile has cells of its own; beyond, cells hold several.
        if level <= 2 {
            self.lists.extend(near_list.iter().map(|&i| {
                let (x, y) = sub_tile_cell(i, subs_x, level);
                x | y << 16
            }));
        } else {
            self.scratch.clear();
            self.scratch
                .resize(grid_width as usize * grid_height as usize, false);
            for &i in near_list {
                let (x, y) = sub_tile_cell(i, subs_x, level);
                let cell = &mut self.scratch[(y * grid_width + x) as usize];
                if !*cell {
                    *cell = true;
                    self.lists.push(x | y << 16);
                }
            }
        }
        Slice {
            offset,
            count: self.lists.len() as u32 - offset,
        }
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

    /// The blur tiles of two planes, `a` and `b`, merged into one list (in scan order, as
    /// each is), for a pass that blurs both.
    pub fn push_tile_union(&mut self, a: Slice, b: Slice) -> Slice {
        let offset = self.lists.len();
        let (mut i, a_end) = (a.offset as usize, (a.offset + a.count) as usize);
        let (mut j, b_end) = (b.offset as usize, (b.offset + b.count) as usize);
        // Tiles are `x | y << 16`: scan order is the order of the numbers, none of them MAX.
        while i < a_end || j < b_end {
            let x = if i < a_end { self.lists[i] } else { u32::MAX };
            let y = if j < b_end { self.lists[j] } else { u32::MAX };
            let next = x.min(y);
            i += usize::from(x == next);
            j += usize::from(y == next);
            self.lists.push(next);
        }
        Slice {
            offset: offset as u32,
            count: (self.lists.len() - offset) as u32,
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

    /// Widens each sub-tile's disparity range to the values of `disparity` in it.
    fn measure_sub_ranges(&mut self, disparity: &[f32], width: usize, subs_x: usize) {
        let sub = SUB as usize;
        // Comparisons rather than f32::min and max, which also handle NaN (the disparity is
        // clamped, so none is left): one instruction each, four pixels at a time.
        let lesser = |a: f32, b: f32| if a < b { a } else { b };
        let greater = |a: f32, b: f32| if a > b { a } else { b };
        for (y, row) in disparity.chunks_exact(width).enumerate() {
            let ranges = &mut self.sub_ranges[y / sub * subs_x..][..subs_x];
            let quads = row.chunks_exact(sub);
            let rest = quads.remainder();
            for (range, q) in ranges.iter_mut().zip(quads) {
                let lo = lesser(lesser(q[0], q[1]), lesser(q[2], q[3]));
                let hi = greater(greater(q[0], q[1]), greater(q[2], q[3]));
                *range = [lesser(range[0], lo), greater(range[1], hi)];
            }
            if let Some(range) = ranges.get_mut(width / sub).filter(|_| !rest.is_empty()) {
                for &d in rest {
                    *range = [lesser(range[0], d), greater(range[1], d)];
                }
            }
        }
    }
}

/// `items.partition_point(pred)`, walked to from `guess` (best near it).
fn partition_point_near<T>(items: &[T], guess: usize, pred: impl Fn(&T) -> bool) -> usize {
    let mut i = guess.min(items.len());
    while i > 0 && !pred(&items[i - 1]) {
        i -= 1;
    }
    while i < items.len() && pred(&items[i]) {
        i += 1;
    }
    i
}

/// Marks in `marks` (the tiles of a grid `tiles_x` wide) each tile that holds a sub-tile
/// within `reach` sub-tiles (Chebyshev distance) of one of `near` (sub-tile indices, row by
/// row, `subs_x` x `subs_y`): the near sub-tiles dilated, then pooled into tiles.
fn mark_tiles_within(
    marks: &mut [bool],
    tiles_x: usize,
    near: &[u32],
    subs_x: usize,
    subs_y: usize,
    reach: usize,
) {
    let span = |s: usize, subs: usize| {
        s.saturating_sub(reach) / PER_TILE..=(s + reach).min(subs - 1) / PER_TILE
    };
    for &i in near {
        let (sx, sy) = (i as usize % subs_x, i as usize / subs_x);
        for ty in span(sy, subs_y) {
            marks[ty * tiles_x..][span(sx, subs_x)].fill(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `u32`s of `slice` in the plan's lists.
    fn in_lists(plan: &FramePlan, slice: Slice) -> &[u32] {
        &plan.lists[slice.offset as usize..][..slice.count as usize]
    }

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
        plan.build(&[&disparity], w, h, &params, crate::dof::MAX_LEVEL, true);
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
    fn cell_blocks_and_blur_tiles_cover_every_cell_the_plane_reaches() {
        // A diagonal ramp with a step, so that every plane's pixels form thin, slanted runs.
        let (w, h) = (203u32, 77u32);
        let disparity: Vec<f32> = (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                let ramp = (x + 2 * y) as f32 * 0.21;
                if x > 120 { ramp + 17.0 } else { ramp }
            })
            .map(|d| d.min(80.0))
            .collect();
        let params = Params {
            aperture: 0.8,
            focus_disparity: 40.0,
            max_disparity: 80.0,
            max_kernel: 11,
            ..Default::default()
        };
        let mut plan = FramePlan::default();
        plan.build(&[&disparity], w, h, &params, crate::dof::MAX_LEVEL, false);
        let half_band = params.half_band();
        let mut levels_seen = std::collections::BTreeSet::new();
        for work in &plan.planes {
            let level = work.plane.level;
            levels_seen.insert(level);
            let (gw, gh) = (work.grid_width, work.grid_height);
            // Cells whose footprint holds a pixel of the plane, by brute force.
            let mut holds = vec![false; (gw * gh) as usize];
            for (p, d) in disparity.iter().enumerate() {
                if (d - work.plane.disparity).abs() < half_band {
                    let (x, y) = ((p as u32 % w) >> level, (p as u32 / w) >> level);
                    holds[(y * gw + x) as usize] = true;
                }
            }
            let side = cell_block_side(level);
            let mut listed = vec![false; holds.len()];
            for block in in_lists(&plan, work.cell_blocks) {
                let (x0, y0) = (block & 0xffff, block >> 16);
                for y in y0..(y0 + side).min(gh) {
                    for x in x0..(x0 + side).min(gw) {
                        listed[(y * gw + x) as usize] = true;
                    }
                }
            }
            let mut blurred = vec![false; holds.len()];
            for tile in in_lists(&plan, work.blur_tiles) {
                let (tx, ty) = ((tile & 0xffff) * TILE, (tile >> 16) * TILE);
                for y in ty..(ty + TILE).min(gh) {
                    for x in tx..(tx + TILE).min(gw) {
                        blurred[(y * gw + x) as usize] = true;
                    }
                }
            }
            let rows = work.plane.kernel.rows() as i64;
            for (c, _) in holds.iter().enumerate().filter(|(_, h)| **h) {
                let (x, y) = ((c as u32 % gw) as i64, (c as u32 / gw) as i64);
                assert!(
                    listed[c],
                    "d={} level {level}: cell ({x}, {y}) not listed",
                    work.plane.disparity
                );
                for yy in (y - rows).max(0)..=(y + rows).min(gh as i64 - 1) {
                    for xx in (x - rows).max(0)..=(x + rows).min(gw as i64 - 1) {
                        assert!(
                            blurred[(yy * gw as i64 + xx) as usize],
                            "d={} level {level}: cell ({xx}, {yy}) within reach of ({x}, {y}) not blurred",
                            work.plane.disparity
                        );
                    }
                }
            }
        }
        assert!(levels_seen.len() >= 4, "{levels_seen:?}");
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
        plan.build(&[&disparity], w, h, &params, crate::dof::MAX_LEVEL, true);
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
    fn tiles_within_reach_match_the_definition() {
        // 13 x 7 sub-tiles: tiles of 2 x 2 sub-tiles, 7 x 4 of them (the last ones partial).
        let (w, h) = (13usize, 7usize);
        let (tiles_x, tiles_y) = (w.div_ceil(PER_TILE), h.div_ceil(PER_TILE));
        let near: Vec<u32> = (0..w * h)
            .filter(|i| i % 17 == 3 || *i == 40)
            .map(|i| i as u32)
            .collect();
        for reach in 0..5 {
            let mut marks = vec![false; tiles_x * tiles_y];
            mark_tiles_within(&mut marks, tiles_x, &near, w, h, reach);
            for ty in 0..tiles_y {
                for tx in 0..tiles_x {
                    // Some sub-tile of the tile within reach of a near one.
                    let subs = |t: usize, n: usize| t * PER_TILE..((t + 1) * PER_TILE).min(n);
                    let expected = subs(ty, h).any(|y| {
                        subs(tx, w).any(|x| {
                            near.iter().any(|&i| {
                                let (nx, ny) = (i as usize % w, i as usize / w);
                                nx.abs_diff(x) <= reach && ny.abs_diff(y) <= reach
                            })
                        })
                    });
                    assert_eq!(
                        marks[ty * tiles_x + tx],
                        expected,
                        "tile {tx},{ty} reach {reach}"
                    );
                }
            }
        }
    }

    #[test]
    fn tile_union_merges_two_lists_in_scan_order() {
        let mut plan = FramePlan::default();
        let tile = |x: u32, y: u32| x | y << 16;
        let a = plan.push([tile(0, 0), tile(3, 0), tile(1, 2)].into_iter());
        let b = plan.push([tile(3, 0), tile(5, 1), tile(1, 2), tile(0, 4)].into_iter());
        let union = plan.push_tile_union(a, b);
        assert_eq!(
            in_lists(&plan, union),
            [tile(0, 0), tile(3, 0), tile(5, 1), tile(1, 2), tile(0, 4)]
        );
        let empty = plan.push_tile_union(Slice::default(), a);
        assert_eq!(in_lists(&plan, empty), in_lists(&plan, a));
    }

    #[test]
    fn partition_point_near_finds_it_from_any_guess() {
        let items = [1, 3, 3, 5, 8, 13];
        for bound in 0..15 {
            let expected = items.partition_point(|&x| x < bound);
            for guess in 0..10 {
                assert_eq!(
                    partition_point_near(&items, guess, |&x| x < bound),
                    expected
                );
            }
        }
    }
}
