//! The subset of YAML that camera calibration files use: OpenCV `FileStorage` files
//! (`%YAML:1.0`, matrices as `!!opencv-matrix` maps with `rows`, `cols`, `dt`, `data`) and
//! ROS `camera_info` files (scalars, and matrices as maps with `rows`, `cols`, `data`).
//! Top-level keys map to a scalar or to a map of scalars; a `[...]` list may span lines.

use std::collections::BTreeMap;

/// A top-level value: a scalar (text) or a map of scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(String),
    Map(BTreeMap<String, String>),
}

/// Parses a calibration file's text; an error names the line.
pub fn parse(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut top: BTreeMap<String, Value> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((number, raw)) = lines.next() {
        let line = raw.split('#').next().unwrap_or("").trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('%') || trimmed == "---" || trimmed == "..." {
            continue;
        }
        let indented = line.len() != trimmed.len();
        let Some((key, rest)) = trimmed.split_once(':') else {
            return Err(format!(
                "line {}: expected `key: value`, found `{trimmed}`",
                number + 1
            ));
        };
        let (key, mut value) = (key.trim().to_string(), rest.trim().to_string());
        // a list that continues on the following lines
        if value.starts_with('[') {
            while !value.contains(']') {
                match lines.next() {
                    Some((_, more)) => {
                        value.push(' ');
                        value.push_str(more.trim());
                    }
                    None => return Err(format!("line {}: `[` without `]`", number + 1)),
                }
            }
        }
        if indented {
            let Some(parent) = current.as_ref() else {
                return Err(format!(
                    "line {}: indented `{key}` under no key",
                    number + 1
                ));
            };
            match top.get_mut(parent) {
                Some(Value::Map(map)) => {
                    map.insert(key, value);
                }
                _ => {
                    return Err(format!(
                        "line {}: `{key}` under the scalar `{parent}`",
                        number + 1
                    ));
                }
            }
        } else if value.is_empty() || value.starts_with("!!") {
            // a map follows (`key:` or `key: !!opencv-matrix`)
            top.insert(key.clone(), Value::Map(BTreeMap::new()));
            current = Some(key);
        } else {
            top.insert(key.clone(), Value::Scalar(unquote(&value)));
            current = Some(key);
        }
    }
    Ok(top)
}

fn unquote(value: &str) -> String {
    value.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// The numbers of a `[a, b, ...]` list.
pub fn numbers(list: &str) -> Result<Vec<f64>, String> {
    let inner = list.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| format!("`{s}` is not a number"))
        })
        .collect()
}

/// A matrix of `rows x cols` numbers stored under `key` (a map with `rows`, `cols`, `data`).
pub fn matrix(
    file: &BTreeMap<String, Value>,
    key: &str,
    rows: usize,
    cols: &[usize],
) -> Result<Vec<f64>, String> {
    let Some(Value::Map(map)) = file.get(key) else {
        return Err(format!("`{key}` is missing or not a matrix"));
    };
    let size = |field: &str| -> Result<usize, String> {
        map.get(field)
            .ok_or_else(|| format!("`{key}` has no `{field}`"))?
            .parse()
            .map_err(|_| format!("`{key}.{field}` is not a number"))
    };
    let (r, c) = (size("rows")?, size("cols")?);
    let data = numbers(
        map.get("data")
            .ok_or_else(|| format!("`{key}` has no `data`"))?,
    )
    .map_err(|e| format!("`{key}.data`: {e}"))?;
    if data.len() != r * c {
        return Err(format!(
            "`{key}` says {r}x{c} but has {} numbers",
            data.len()
        ));
    }
    // distortion vectors come as 1xN or Nx1
    let ok = if rows == 1 {
        (r == 1 && cols.contains(&c)) || (c == 1 && cols.contains(&r))
    } else {
        r == rows && cols.contains(&c)
    };
    if !ok {
        return Err(format!(
            "`{key}` is {r}x{c}, expected {rows}x{}",
            cols.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(data)
}

/// A scalar stored under `key`, as a number.
pub fn scalar(file: &BTreeMap<String, Value>, key: &str) -> Result<f64, String> {
    match file.get(key) {
        Some(Value::Scalar(s)) => s
            .parse()
            .map_err(|_| format!("`{key}` is not a number: `{s}`")),
        _ => Err(format!("`{key}` is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_opencv_file_storage() {
        let text = "%YAML:1.0\n---\nM1: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 5.3e+02, 0., 3.4e+02, 0.,\n       5.3e+02, 2.3e+02, 0., 0., 1. ]\nD1: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n   data: [ -0.28, 0.07, 0.001, -0.0002, 0. ]\n";
        let file = parse(text).unwrap();
        assert_eq!(matrix(&file, "M1", 3, &[3]).unwrap()[2], 340.0);
        assert_eq!(matrix(&file, "D1", 1, &[4, 5, 8]).unwrap().len(), 5);
        assert!(
            matrix(&file, "M2", 3, &[3])
                .unwrap_err()
                .contains("`M2` is missing")
        );
        assert!(
            matrix(&file, "D1", 3, &[3])
                .unwrap_err()
                .contains("expected 3x3")
        );
    }

    #[test]
    fn reads_ros_camera_info() {
        let text = "image_width: 640\nimage_height: 480\ncamera_name: left\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [500, 0, 320, 0, 500, 240, 0, 0, 1]\ndistortion_model: plumb_bob\n";
        let file = parse(text).unwrap();
        assert_eq!(scalar(&file, "image_width").unwrap(), 640.0);
        assert_eq!(
            file.get("distortion_model"),
            Some(&Value::Scalar("plumb_bob".into()))
        );
        assert_eq!(matrix(&file, "camera_matrix", 3, &[3]).unwrap()[4], 500.0);
    }

    #[test]
    fn broken_files_name_the_line_or_field() {
        assert!(parse("just words\n").unwrap_err().contains("line 1"));
        assert!(
            parse("a:\n  data: [1, 2\n")
                .unwrap_err()
                .contains("without `]`")
        );
        let file = parse("K:\n  rows: 3\n  cols: 3\n  data: [1, 2, x]\n").unwrap();
        assert!(
            matrix(&file, "K", 3, &[3])
                .unwrap_err()
                .contains("`K.data`: `x` is not a number")
        );
    }
}
