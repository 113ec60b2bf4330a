//! What a treatment record holds beyond the shared enums: the areas treated and the needle depth.

use super::Area;

pub const MIN_NEEDLE_DEPTH_MM: f64 = 0.1;
pub const MAX_NEEDLE_DEPTH_MM: f64 = 3.0;

/// At least one area, each named once (repeats are dropped, the first order kept).
pub fn parse_areas(raw: Vec<String>) -> Result<Vec<Area>, String> {
    if raw.is_empty() {
        return Err("must list at least one area".into());
    }
    let mut areas = Vec::new();
    for item in raw {
        let area = item.parse::<Area>().map_err(|e| format!("`{}`: {e}", item.chars().take(32).collect::<String>()))?;
        if !areas.contains(&area) {
            areas.push(area);
        }
    }
    Ok(areas)
}

pub fn parse_needle_depth(raw: f64) -> Result<f64, String> {
    if (MIN_NEEDLE_DEPTH_MM..=MAX_NEEDLE_DEPTH_MM).contains(&raw) {
        Ok(raw)
    } else {
        Err(format!("must be from {MIN_NEEDLE_DEPTH_MM} to {MAX_NEEDLE_DEPTH_MM} mm"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_listed_once_each() {
        let areas = parse_areas(vec!["face".into(), "neck".into(), "face".into()]).unwrap();
        assert_eq!(areas, [Area::Face, Area::Neck]);
        assert!(parse_areas(vec![]).is_err());
        assert!(parse_areas(vec!["elbow".into()]).is_err());
    }

    #[test]
    fn needle_depth_has_bounds() {
        assert!(parse_needle_depth(0.1).is_ok() && parse_needle_depth(3.0).is_ok());
        assert!(parse_needle_depth(0.05).is_err() && parse_needle_depth(3.5).is_err());
    }
}
