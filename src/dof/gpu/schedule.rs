//! The order of a frame's GPU work: where each pyramid level's accumulators live
//! ([`Levels`]), the steps that blur, composite, resample and normalise ([`Schedule`]), and
//! how the fast path's planes share the cell regions of `values` ([`CellTurns`]).

use super::uniforms::AccumulatorUniform;
use crate::dof::plan::{FramePlan, Slice};

/// Where each level's accumulators live: level 0 in `accum`, the others in `coarse`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Levels {
    /// Grid size of each level, `0..=max`.
    pub(super) sizes: Vec<(u32, u32)>,
    /// Offset (cells) in `coarse` of each level's back and front accumulator (unused for 0).
    back: Vec<u32>,
    front: Vec<u32>,
    /// Cells of `coarse`.
    pub(super) coarse_cells: u64,
}

impl Levels {
    pub(super) fn new(width: u32, height: u32) -> Self {
        // Levels up to the first whose grid is a single cell.
        let max = (32 - (width.max(height) - 1).leading_zeros()).min(crate::dof::MAX_LEVEL);
        let sizes: Vec<(u32, u32)> = (0..=max)
            .map(|level| (width.div_ceil(1 << level), height.div_ceil(1 << level)))
            .collect();
        let cells = |level: usize| u64::from(sizes[level].0) * u64::from(sizes[level].1);
        let mut offset = 0u64;
        let mut back = vec![0];
        for level in 1..sizes.len() {
            back.push(offset as u32);
            offset += cells(level);
        }
        let mut front = vec![0];
        for level in 1..sizes.len() {
            front.push(offset as u32);
            offset += cells(level);
        }
        Levels {
            sizes,
            back,
            front,
            coarse_cells: offset,
        }
    }

    pub(super) fn max(&self) -> u32 {
        self.sizes.len() as u32 - 1
    }

    pub(super) fn accumulator(&self, level: u32, front: bool) -> AccumulatorUniform {
        let (width, height) = self.sizes[level as usize];
        let offset = if front { &self.front } else { &self.back }[level as usize];
        AccumulatorUniform {
            level,
            offset,
            width,
            height,
        }
    }
}

/// One step of a frame's schedule.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// Blur plane `plan.planes[index]` and composite it over `into`.
    Plane {
        index: usize,
        into: AccumulatorUniform,
    },
    /// Blur tagged planes `first` and `first + 1` in one pass over the tiles of either
    /// (`tiles`, in `plan.lists`) and composite them over `into`, back to front.
    PlanePair {
        first: usize,
        into: AccumulatorUniform,
        tiles: Slice,
    },
    /// Upsample `from` into `into` (`over`: composite over it, else replace it).
    Resample {
        from: AccumulatorUniform,
        into: AccumulatorUniform,
        over: bool,
    },
    /// Normalise `back` with `front` (if any) over it into the output.
    Normalize {
        back: AccumulatorUniform,
        front: Option<AccumulatorUniform>,
    },
    /// Tag each pixel with the planes of level 0 it belongs to.
    Tag,
}

/// The order of a frame's GPU work, and the accumulators it needs cleared first.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Schedule {
    pub(super) clears: Vec<AccumulatorUniform>,
    pub(super) steps: Vec<Step>,
}

impl Schedule {
    /// Orders planes (back to front, with their pyramid levels) into steps.
    ///
    /// Levels fall towards the focus and rise after it. The planes up to the last one of the
    /// lowest level (the back) are composited in one accumulator that moves to a finer level
    /// whenever the planes do; the rest (the front) go into one accumulator per level, which
    /// are merged from the coarsest down and laid over the back when normalising.
    ///
    /// `tag`: the planes of level 0 read tagged pixels, made by a first step.
    pub(super) fn new(levels: &[u32], grid: &Levels, tag: bool) -> Schedule {
        let mut schedule = Schedule::default();
        if tag {
            schedule.steps.push(Step::Tag);
        }
        let lowest = levels.iter().copied().min().unwrap_or(0);
        let split = levels
            .iter()
            .rposition(|l| *l == lowest)
            .map_or(0, |i| i + 1);
        let mut current = grid.accumulator(levels.first().copied().unwrap_or(0), false);
        schedule.clears.push(current);
        for (index, &level) in levels[..split].iter().enumerate() {
            if level < current.level {
                let into = grid.accumulator(level, false);
                schedule.steps.push(Step::Resample {
                    from: current,
                    into,
                    over: false,
                });
                current = into;
            }
            schedule.steps.push(Step::Plane {
                index,
                into: current,
            });
        }
        let mut front: Vec<AccumulatorUniform> = Vec::new();
        for (index, &level) in levels.iter().enumerate().skip(split) {
            if front.last().is_none_or(|a| a.level != level) {
                let into = grid.accumulator(level, true);
                schedule.clears.push(into);
                front.push(into);
            }
            schedule.steps.push(Step::Plane {
                index,
                into: *front.last().expect("pushed above"),
            });
        }
        for pair in front.windows(2).rev() {
            schedule.steps.push(Step::Resample {
                from: pair[1],
                into: pair[0],
                over: true,
            });
        }
        schedule.steps.push(Step::Normalize {
            back: current,
            front: front.first().copied(),
        });
        schedule
    }

    /// Merges each two consecutive steps of planes in `tagged` (a range of plane indices)
    /// into a pair, whose tiles `union(first)` lists: the two read the same tagged pixels, so
    /// one pass loads them once and reads and writes the accumulator once for both.
    pub(super) fn pair_tagged(
        &mut self,
        tagged: &std::ops::Range<usize>,
        mut union: impl FnMut(usize) -> Slice,
    ) {
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut rest = std::mem::take(&mut self.steps).into_iter().peekable();
        while let Some(step) = rest.next() {
            if let Step::Plane { index, into } = step
                && tagged.contains(&index)
                && tagged.contains(&(index + 1))
                && rest
                    .next_if(|next| {
                        *next
                            == Step::Plane {
                                index: index + 1,
                                into,
                            }
                    })
                    .is_some()
            {
                let tiles = union(index);
                steps.push(Step::PlanePair {
                    first: index,
                    into,
                    tiles,
                });
            } else {
                steps.push(step);
            }
        }
        self.steps = steps;
    }
}

/// On the fast path, how the planes that read cells share the two regions of `values`:
/// they take turns, and each one's extraction zeroes the cells of the one before (whose blur
/// is done by then); the last one's are zeroed by a pass of its own.
#[derive(Debug, Default, PartialEq)]
pub(super) struct CellTurns {
    /// Per step of the schedule: the region its plane's cells go to, if it reads cells.
    pub(super) region: Vec<Option<u32>>,
    /// Per step: the plane (and its region) whose cells its extraction zeroes.
    pub(super) clears: Vec<Option<(usize, u32)>>,
    /// The last plane that read cells, and its region.
    pub(super) last: Option<(usize, u32)>,
}

impl CellTurns {
    pub(super) fn new(schedule: &Schedule, reads_cells: impl Fn(usize) -> bool) -> CellTurns {
        let mut turns = CellTurns::default();
        for step in &schedule.steps {
            let (mut region, mut clears) = (None, None);
            if let Step::Plane { index, .. } = step
                && reads_cells(*index)
            {
                let turn = turns.last.map_or(0, |(_, r)| 1 - r);
                region = Some(turn);
                clears = turns.last;
                turns.last = Some((*index, turn));
            }
            turns.region.push(region);
            turns.clears.push(clears);
        }
        turns
    }

    /// Blocks that the extraction of step `step` zeroes.
    pub(super) fn cleared(&self, step: usize, plan: &FramePlan) -> u32 {
        self.clears[step].map_or(0, |(plane, _)| plan.planes[plane].cell_blocks.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_moves_the_back_to_finer_levels_and_gathers_the_front() {
        let grid = Levels::new(64, 32);
        assert_eq!(grid.max(), 6);
        // Levels of planes back to front around a focus at full resolution.
        let schedule = Schedule::new(&[2, 1, 1, 0, 0, 1, 2, 2], &grid, false);
        let back = |level| grid.accumulator(level, false);
        let front = |level| grid.accumulator(level, true);
        assert_eq!(schedule.clears, vec![back(2), front(1), front(2)]);
        let expected = vec![
            Step::Plane {
                index: 0,
                into: back(2),
            },
            Step::Resample {
                from: back(2),
                into: back(1),
                over: false,
            },
            Step::Plane {
                index: 1,
                into: back(1),
            },
            Step::Plane {
                index: 2,
                into: back(1),
            },
            Step::Resample {
                from: back(1),
                into: back(0),
                over: false,
            },
            Step::Plane {
                index: 3,
                into: back(0),
            },
            Step::Plane {
                index: 4,
                into: back(0),
            },
            Step::Plane {
                index: 5,
                into: front(1),
            },
            Step::Plane {
                index: 6,
                into: front(2),
            },
            Step::Plane {
                index: 7,
                into: front(2),
            },
            Step::Resample {
                from: front(2),
                into: front(1),
                over: true,
            },
            Step::Normalize {
                back: back(0),
                front: Some(front(1)),
            },
        ];
        assert_eq!(schedule.steps, expected);
        // Planes of level 0 that read tagged pixels: the same, after tagging them.
        let tagged = Schedule::new(&[2, 1, 1, 0, 0, 1, 2, 2], &grid, true);
        assert_eq!(tagged.steps[0], Step::Tag);
        assert_eq!(tagged.steps[1..], expected);
        // Distinct accumulators never overlap in `coarse`.
        let cells = |a: AccumulatorUniform| a.offset..a.offset + a.width * a.height;
        assert!(cells(back(2)).end <= cells(front(1)).start);
    }

    #[test]
    fn planes_reading_cells_take_turns_and_zero_the_one_before() {
        let grid = Levels::new(64, 64);
        // Planes 2 and 3 (level 0) read tagged pixels, the others cells.
        let schedule = Schedule::new(&[2, 1, 0, 0, 1, 2], &grid, true);
        let turns = CellTurns::new(&schedule, |plane| !(2..4).contains(&plane));
        let by_plane = |plane: usize| {
            let step = schedule
                .steps
                .iter()
                .position(|s| matches!(s, Step::Plane { index, .. } if *index == plane))
                .expect("every plane has a step");
            (turns.region[step], turns.clears[step])
        };
        assert_eq!(by_plane(0), (Some(0), None));
        assert_eq!(by_plane(1), (Some(1), Some((0, 0))));
        assert_eq!(by_plane(2), (None, None));
        assert_eq!(by_plane(3), (None, None));
        assert_eq!(by_plane(4), (Some(0), Some((1, 1))));
        assert_eq!(by_plane(5), (Some(1), Some((4, 0))));
        assert_eq!(turns.last, Some((5, 1)));
        // Steps without planes read nothing.
        assert_eq!(turns.region[0], None);
    }

    #[test]
    fn consecutive_tagged_planes_go_in_pairs() {
        let grid = Levels::new(64, 64);
        // Planes 2..7 are tagged (level 0); 2 and 3, 4 and 5 pair up, 6 is left alone.
        let mut schedule = Schedule::new(&[2, 1, 0, 0, 0, 0, 0, 1], &grid, true);
        let mut unions = Vec::new();
        schedule.pair_tagged(&(2..7), |first| {
            unions.push(first);
            Slice {
                offset: first as u32,
                count: 1,
            }
        });
        assert_eq!(unions, [2, 4]);
        let back = grid.accumulator(0, false);
        let planes: Vec<&Step> = schedule
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Plane { .. } | Step::PlanePair { .. }))
            .collect();
        let pair = |first: usize| Step::PlanePair {
            first,
            into: back,
            tiles: Slice {
                offset: first as u32,
                count: 1,
            },
        };
        assert_eq!(*planes[2], pair(2));
        assert_eq!(*planes[3], pair(4));
        assert_eq!(
            *planes[4],
            Step::Plane {
                index: 6,
                into: back
            }
        );
        assert!(matches!(planes[1], Step::Plane { index: 1, .. }));
        assert_eq!(planes.len(), 6);
    }

    #[test]
    fn schedule_without_planes_only_normalises() {
        let grid = Levels::new(5, 3);
        let schedule = Schedule::new(&[], &grid, false);
        let back = grid.accumulator(0, false);
        assert_eq!(schedule.clears, vec![back]);
        assert_eq!(schedule.steps, vec![Step::Normalize { back, front: None }]);
    }

    #[test]
    fn schedule_with_focus_outside_the_range_stays_coarse() {
        let grid = Levels::new(100, 100);
        // All planes in front of a far focus, none at full resolution.
        let schedule = Schedule::new(&[1, 2, 3], &grid, false);
        let back = |level| grid.accumulator(level, false);
        let front = |level| grid.accumulator(level, true);
        assert_eq!(
            schedule.steps.last(),
            Some(&Step::Normalize {
                back: back(1),
                front: Some(front(2))
            })
        );
    }
}
