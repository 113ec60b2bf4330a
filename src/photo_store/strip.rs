//! What an upload really is, from its first bytes, and filters that take the metadata out of the
//! bytes as they stream past (no decoding, no re-encoding: the pixels are bit for bit the same).
//!
//! - JPEG: every APP1..APP15 segment goes (EXIF with its GPS position and thumbnail, XMP, MPF,
//!   maker notes, Photoshop IRB...), and COM comments, except an ICC colour profile (APP2
//!   `ICC_PROFILE`) and Adobe's colour transform (APP14 `Adobe`), which change how the pixels look
//!   and hold nothing about the person. Anything after the image's end (EOI) goes too: phones
//!   append depth maps and second images there, each with EXIF of its own.
//! - PNG: the text chunks (`tEXt`, `zTXt`, `iTXt`), `eXIf` and `tIME` go, and anything after
//!   `IEND`.
//! - HEIC/HEIF and WebP: no filter (no maintained pure-Rust HEIF parser or decoder); they are
//!   stored and served as uploaded, and the photo says `metadata_removed: false`.
//!
//! A filter refuses bytes that do not have the structure their signature promises: metadata it
//! cannot find it cannot remove.

use crate::domain::PhotoType;

/// How many bytes `sniff` needs to decide.
pub const SNIFF_BYTES: usize = 12;

/// The type the bytes' signature names, or `None` for anything else.
pub fn sniff(head: &[u8]) -> Option<PhotoType> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(PhotoType::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(PhotoType::Png);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(PhotoType::Webp);
    }
    // ISO BMFF: a box size, then `ftyp` and the major brand.
    const HEIF_BRANDS: [&[u8; 4]; 8] = [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"];
    if head.len() >= 12 && &head[4..8] == b"ftyp" && HEIF_BRANDS.iter().any(|b| &head[8..12] == *b) {
        return Some(PhotoType::Heic);
    }
    None
}

/// A filter for one type, or `None` when that type is passed through as uploaded.
pub fn filter_for(kind: PhotoType) -> Option<Box<dyn Strip + Send>> {
    match kind {
        PhotoType::Jpeg => Some(Box::new(JpegStrip::default())),
        PhotoType::Png => Some(Box::new(PngStrip::default())),
        PhotoType::Heic | PhotoType::Webp => None,
    }
}

pub trait Strip {
    /// Takes the next bytes of the upload and appends what is kept to `out`.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String>;
    /// After the last bytes: `Err` when the image was cut short.
    fn finish(&self) -> Result<(), String>;
}

#[derive(Default, Debug)]
enum Jpeg {
    /// Before the SOI marker; counts its two bytes.
    #[default]
    Start,
    /// Between segments, before the first scan: collecting a marker and its length.
    Header,
    /// A segment's payload: `keep` decides on the whole segment, which is at most 64 KiB.
    Segment { left: usize },
    /// Entropy-coded data of a scan; `ff` when the last byte was 0xFF.
    Scan { ff: bool },
    /// After EOI: everything else is dropped.
    Done,
}

/// The JPEG filter (see the module's documentation).
#[derive(Default)]
pub struct JpegStrip {
    state: Jpeg,
    /// Bytes of the current marker segment (marker, length, payload), kept or dropped whole.
    segment: Vec<u8>,
    /// Inside a scan, the marker being read once 0xFF and a marker byte were seen.
    after_scan: bool,
}

fn jpeg_keeps(segment: &[u8]) -> bool {
    let marker = segment[1];
    let payload = &segment[4.min(segment.len())..];
    match marker {
        0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xEE => payload.starts_with(b"Adobe"),
        0xE1..=0xEF | 0xFE => false,
        _ => true,
    }
}

impl Strip for JpegStrip {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut i = 0;
        while i < input.len() {
            let byte = input[i];
            match self.state {
                Jpeg::Start => {
                    self.segment.push(byte);
                    i += 1;
                    if self.segment.len() == 2 {
                        if self.segment != [0xFF, 0xD8] {
                            return Err("the JPEG does not start with SOI".into());
                        }
                        out.extend_from_slice(&self.segment);
                        self.segment.clear();
                        self.state = Jpeg::Header;
                    }
                }
                Jpeg::Header => {
                    i += 1;
                    // Fill bytes (0xFF repeated) before a marker are allowed.
                    if self.segment.len() == 1 && byte == 0xFF {
                        continue;
                    }
                    if self.segment.is_empty() && byte != 0xFF {
                        return Err("a JPEG marker was expected".into());
                    }
                    self.segment.push(byte);
                    if self.segment.len() == 2 {
                        match byte {
                            0xD9 => {
                                out.extend_from_slice(&self.segment);
                                self.segment.clear();
                                self.state = Jpeg::Done;
                            }
                            0x01 | 0xD0..=0xD7 => {
                                out.extend_from_slice(&self.segment);
                                self.segment.clear();
                                if self.after_scan {
                                    self.state = Jpeg::Scan { ff: false };
                                }
                            }
                            0x00 | 0xD8 => return Err("a JPEG marker was expected".into()),
                            _ => {}
                        }
                    } else if self.segment.len() == 4 {
                        let length = u16::from_be_bytes([self.segment[2], self.segment[3]]) as usize;
                        if length < 2 {
                            return Err("a JPEG segment has an impossible length".into());
                        }
                        self.state = Jpeg::Segment { left: length - 2 };
                        if length == 2 {
                            self.end_segment(out);
                        }
                    }
                }
                Jpeg::Segment { left } => {
                    let take = left.min(input.len() - i);
                    self.segment.extend_from_slice(&input[i..i + take]);
                    i += take;
                    self.state = Jpeg::Segment { left: left - take };
                    if left == take {
                        self.end_segment(out);
                    }
                }
                Jpeg::Scan { ff } => {
                    i += 1;
                    match (ff, byte) {
                        (false, 0xFF) => self.state = Jpeg::Scan { ff: true },
                        // Scan data up to the next 0xFF, copied at once.
                        (false, _) => {
                            let run = input[i..].iter().position(|&b| b == 0xFF).unwrap_or(input.len() - i);
                            out.extend_from_slice(&input[i - 1..i + run]);
                            i += run;
                        }
                        // Fill bytes before a marker.
                        (true, 0xFF) => {}
                        // A stuffed zero or a restart marker: still scan data.
                        (true, 0x00 | 0xD0..=0xD7) => {
                            out.extend_from_slice(&[0xFF, byte]);
                            self.state = Jpeg::Scan { ff: false };
                        }
                        // A marker ends the scan: read it as a header.
                        (true, _) => {
                            self.segment = vec![0xFF];
                            self.state = Jpeg::Header;
                            i -= 1;
                        }
                    }
                }
                Jpeg::Done => return Ok(()),
            }
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), String> {
        match self.state {
            Jpeg::Done => Ok(()),
            _ => Err("the JPEG ends before its end-of-image marker (a truncated upload?)".into()),
        }
    }
}

impl JpegStrip {
    fn end_segment(&mut self, out: &mut Vec<u8>) {
        let marker = self.segment[1];
        if jpeg_keeps(&self.segment) {
            out.extend_from_slice(&self.segment);
        }
        self.segment.clear();
        if marker == 0xDA {
            self.after_scan = true;
            self.state = Jpeg::Scan { ff: false };
        } else {
            self.state = Jpeg::Header;
        }
    }
}

#[derive(Default, Debug, Clone, Copy)]
enum Png {
    #[default]
    Signature,
    /// Collecting a chunk's length and type (8 bytes).
    ChunkHeader,
    /// A chunk's data and CRC: `left` bytes, copied or dropped.
    Chunk {
        left: u64,
        keep: bool,
        last: bool,
    },
    Done,
}

/// The PNG filter (see the module's documentation).
#[derive(Default)]
pub struct PngStrip {
    state: Png,
    header: Vec<u8>,
}

const PNG_DROPPED: [&[u8; 4]; 5] = [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"];

impl Strip for PngStrip {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                Png::Signature | Png::ChunkHeader => {
                    let want = 8 - self.header.len();
                    let take = want.min(input.len() - i);
                    self.header.extend_from_slice(&input[i..i + take]);
                    i += take;
                    if self.header.len() < 8 {
                        continue;
                    }
                    if let Png::Signature = self.state {
                        if self.header != b"\x89PNG\r\n\x1a\n" {
                            return Err("the PNG signature is wrong".into());
                        }
                        out.extend_from_slice(&self.header);
                        self.state = Png::ChunkHeader;
                    } else {
                        let length = u32::from_be_bytes(self.header[0..4].try_into().expect("4 bytes")) as u64;
                        let kind: [u8; 4] = self.header[4..8].try_into().expect("4 bytes");
                        if !kind.iter().all(u8::is_ascii_alphabetic) || length > 0x7FFF_FFFF {
                            return Err("a PNG chunk is malformed".into());
                        }
                        let keep = !PNG_DROPPED.contains(&&kind);
                        if keep {
                            out.extend_from_slice(&self.header);
                        }
                        self.state = Png::Chunk { left: length + 4, keep, last: &kind == b"IEND" };
                    }
                    self.header.clear();
                }
                Png::Chunk { left, keep, last } => {
                    let take = (left as usize).min(input.len() - i);
                    if keep {
                        out.extend_from_slice(&input[i..i + take]);
                    }
                    i += take;
                    let left = left - take as u64;
                    self.state = match (left, last) {
                        (0, true) => Png::Done,
                        (0, false) => Png::ChunkHeader,
                        _ => Png::Chunk { left, keep, last },
                    };
                }
                Png::Done => return Ok(()),
            }
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), String> {
        match self.state {
            Png::Done => Ok(()),
            _ => Err("the PNG ends before its IEND chunk (a truncated upload?)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(filter: &mut dyn Strip, bytes: &[u8], step: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for chunk in bytes.chunks(step) {
            filter.push(chunk, &mut out)?;
        }
        filter.finish()?;
        Ok(out)
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    #[test]
    fn signatures_name_the_type() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(PhotoType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(PhotoType::Png));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), Some(PhotoType::Heic));
        assert_eq!(sniff(b"\0\0\0\x18ftypmif1"), Some(PhotoType::Heic));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBP"), Some(PhotoType::Webp));
        assert_eq!(sniff(b"GIF89a......"), None);
    }

    #[test]
    fn jpeg_loses_exif_xmp_and_comments_and_keeps_the_rest_in_any_chunking() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE0, b"JFIF\0\x01\x01"));
        jpeg.extend(segment(0xE1, b"Exif\0\0GPS 48.8584 N"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0colours"));
        jpeg.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0owner"));
        jpeg.extend(segment(0xFE, b"serial 1234"));
        jpeg.extend(segment(0xDB, b"quant"));
        jpeg.extend(segment(0xDA, b"scan"));
        jpeg.extend([1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4]);
        jpeg.extend(segment(0xC4, b"table"));
        jpeg.extend(segment(0xDA, b"scan2"));
        jpeg.extend([5, 6, 0xFF, 0xD9]);
        jpeg.extend(b"trailing second image with Exif");
        let mut expected = vec![0xFF, 0xD8];
        expected.extend(segment(0xE0, b"JFIF\0\x01\x01"));
        expected.extend(segment(0xE2, b"ICC_PROFILE\0colours"));
        expected.extend(segment(0xDB, b"quant"));
        expected.extend(segment(0xDA, b"scan"));
        expected.extend([1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4]);
        expected.extend(segment(0xC4, b"table"));
        expected.extend(segment(0xDA, b"scan2"));
        expected.extend([5, 6, 0xFF, 0xD9]);
        for step in [1, 2, 3, 7, 4096] {
            assert_eq!(run(&mut JpegStrip::default(), &jpeg, step).unwrap(), expected, "step {step}");
        }
        assert!(run(&mut JpegStrip::default(), &jpeg[..jpeg.len() - 40], 5).is_err(), "truncated");
        assert!(run(&mut JpegStrip::default(), b"\xFF\xD8garbage", 5).is_err());
    }

    #[test]
    fn png_loses_its_text_and_exif_chunks() {
        fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend(kind);
            c.extend(data);
            c.extend([0, 0, 0, 0]);
            c
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", b"header"));
        png.extend(chunk(b"tEXt", b"Author\0Jane"));
        png.extend(chunk(b"eXIf", b"MM\0*gps"));
        png.extend(chunk(b"IDAT", b"pixels"));
        png.extend(chunk(b"IEND", b""));
        png.extend(b"after the end");
        let mut expected = b"\x89PNG\r\n\x1a\n".to_vec();
        expected.extend(chunk(b"IHDR", b"header"));
        expected.extend(chunk(b"IDAT", b"pixels"));
        expected.extend(chunk(b"IEND", b""));
        for step in [1, 3, 9, 4096] {
            assert_eq!(run(&mut PngStrip::default(), &png, step).unwrap(), expected, "step {step}");
        }
        assert!(run(&mut PngStrip::default(), &png[..30], 4).is_err());
    }
}
