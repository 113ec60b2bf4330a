//! A cheap look at an upload's header, before its metadata is removed: the pixel size the image
//! declares (JPEG's SOF, PNG's IHDR) and its EXIF orientation, which the stripped bytes no longer
//! carry. Only the first `HEAD_BYTES` of the upload are kept for it; a header that does not fit
//! (or a type not read here: HEIC/HEIF, WebP) gives `None`, and nothing is checked.

use image::metadata::Orientation;

use crate::domain::PhotoType;

/// How much of an upload's start is kept: room for EXIF (at most 64 KiB per segment), an ICC
/// profile and the frame header of any phone's JPEG.
pub const HEAD_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The pixels as stored.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1 (as stored) to 8.
    pub orientation: u8,
}

impl Facts {
    /// Whether the orientation turns the picture a quarter (width and height swap on screen).
    pub fn turns(&self) -> bool {
        (5..=8).contains(&self.orientation)
    }

    /// Width and height as displayed, orientation applied.
    pub fn displayed(&self) -> (u32, u32) {
        if self.turns() { (self.height, self.width) } else { (self.width, self.height) }
    }

    /// Whether a declared width and height describe this picture: as stored or, when the
    /// orientation turns it, as displayed.
    pub fn matches(&self, width: u32, height: u32) -> bool {
        (width, height) == (self.width, self.height) || (self.turns() && (width, height) == self.displayed())
    }
}

/// Appends the part of `chunk` that still fits in the head.
pub fn keep_head(head: &mut Vec<u8>, chunk: &[u8]) {
    let room = HEAD_BYTES.saturating_sub(head.len());
    head.extend_from_slice(&chunk[..room.min(chunk.len())]);
}

pub fn facts(kind: PhotoType, head: &[u8]) -> Option<Facts> {
    match kind {
        PhotoType::Jpeg => jpeg(head),
        PhotoType::Png => png(head),
        PhotoType::Heic | PhotoType::Webp => None,
    }
}

fn exif_orientation(tiff: &[u8]) -> u8 {
    Orientation::from_exif_chunk(tiff).map(|o| o.to_exif()).unwrap_or(1)
}

/// Walks the marker segments up to the first frame header (SOF0-SOF15 but DHT, JPG and DAC).
fn jpeg(head: &[u8]) -> Option<Facts> {
    let mut orientation = 1;
    let mut at = 2;
    loop {
        while head.get(at) == Some(&0xFF) && head.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if head.get(at) != Some(&0xFF) {
            return None;
        }
        let marker = *head.get(at + 1)?;
        let length = u16::from_be_bytes([*head.get(at + 2)?, *head.get(at + 3)?]) as usize;
        let payload = head.get(at + 4..at + 2 + length)?;
        match marker {
            0xE1 if payload.starts_with(b"Exif\0\0") => orientation = exif_orientation(&payload[6..]),
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u16::from_be_bytes([*payload.get(1)?, *payload.get(2)?]) as u32;
                let width = u16::from_be_bytes([*payload.get(3)?, *payload.get(4)?]) as u32;
                return Some(Facts { width, height, orientation });
            }
            0xDA | 0xD9 => return None,
            _ => {}
        }
        at += 2 + length;
    }
}

/// IHDR is the first chunk; an `eXIf` chunk, if any, comes before the image data.
fn png(head: &[u8]) -> Option<Facts> {
    let ihdr = head.get(8..33)?;
    if &ihdr[4..8] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(ihdr[8..12].try_into().ok()?);
    let height = u32::from_be_bytes(ihdr[12..16].try_into().ok()?);
    let mut orientation = 1;
    let mut at = 33;
    while let (Some(length), Some(kind)) = (head.get(at..at + 4), head.get(at + 4..at + 8)) {
        let length = u32::from_be_bytes(length.try_into().ok()?) as usize;
        match kind {
            b"eXIf" => {
                if let Some(tiff) = head.get(at + 8..at + 8 + length) {
                    orientation = exif_orientation(tiff);
                }
                break;
            }
            b"IDAT" | b"IEND" => break,
            _ => at += 12 + length,
        }
    }
    Some(Facts { width, height, orientation })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let picture = image::DynamicImage::ImageRgb8(image::RgbImage::new(30, 20));
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// Big-endian TIFF whose IFD0 has one entry: Orientation = `value`.
    fn exif(value: u8) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        tiff.extend([value, 0, 0, 0, 0, 0, 0]);
        tiff
    }

    #[test]
    fn reads_a_jpegs_size_and_orientation() {
        let plain = encoded(image::ImageFormat::Jpeg);
        assert_eq!(facts(PhotoType::Jpeg, &plain), Some(Facts { width: 30, height: 20, orientation: 1 }));
        let mut turned = plain[..2].to_vec();
        let payload = [b"Exif\0\0".to_vec(), exif(6)].concat();
        turned.extend([0xFF, 0xE1]);
        turned.extend(((payload.len() + 2) as u16).to_be_bytes());
        turned.extend(payload);
        turned.extend(&plain[2..]);
        let found = facts(PhotoType::Jpeg, &turned).unwrap();
        assert_eq!((found.orientation, found.displayed()), (6, (20, 30)));
        assert!(found.matches(30, 20) && found.matches(20, 30) && !found.matches(30, 30));
        assert_eq!(facts(PhotoType::Jpeg, &turned[..40]), None, "a header cut short says nothing");
    }

    #[test]
    fn reads_a_pngs_size() {
        let png = encoded(image::ImageFormat::Png);
        let found = facts(PhotoType::Png, &png).unwrap();
        assert_eq!(found, Facts { width: 30, height: 20, orientation: 1 });
        assert!(!found.matches(20, 30), "no orientation: a swapped size is another picture");
    }
}
