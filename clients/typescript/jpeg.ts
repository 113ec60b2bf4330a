// What a JPEG tells beyond its pixels, read from its segments: its size (the frame header), the
// APP1 segments (Exif, XMP) and the number of tags in the Exif GPS directory.

export interface JpegMetadata {
  width: number;
  height: number;
  app1Segments: number;
  gpsTags: number;
}

const GPS_IFD_POINTER = 0x8825;

/** Throws if the bytes are not a JPEG, or end inside a segment. */
export function jpegMetadata(bytes: Uint8Array): JpegMetadata {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0xffd8) throw new Error("not a JPEG: no start-of-image marker");
  const found: JpegMetadata = { width: 0, height: 0, app1Segments: 0, gpsTags: 0 };
  let at = 2;
  // Segments up to the first scan; the entropy-coded data after it holds no metadata.
  while (at + 4 <= bytes.length) {
    const marker = view.getUint16(at);
    const length = view.getUint16(at + 2);
    const payload = bytes.subarray(at + 4, at + 2 + length);
    if ((marker & 0xff00) !== 0xff00 || payload.length !== length - 2) throw new Error(`broken segment at ${at}`);
    if (marker === 0xffda) return found;
    if (marker === 0xffe1) {
      found.app1Segments += 1;
      if (String.fromCharCode(...payload.subarray(0, 6)) === "Exif\0\0") {
        found.gpsTags += gpsTagCount(payload.subarray(6));
      }
    }
    // Start of frame (SOF0-SOF15 but DHT, JPG and DAC): precision, height, width.
    if (marker >= 0xffc0 && marker <= 0xffcf && ![0xffc4, 0xffc8, 0xffcc].includes(marker)) {
      const frame = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      found.height = frame.getUint16(1);
      found.width = frame.getUint16(3);
    }
    at += 2 + length;
  }
  throw new Error("no scan: the JPEG ends early");
}

/** The entries of the GPS directory an Exif (TIFF) block points to; 0 without one. */
function gpsTagCount(tiff: Uint8Array): number {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = view.getUint16(0) === 0x4949; // "II"; "MM" is big-endian
  const ifd0 = view.getUint32(4, little);
  const entries = view.getUint16(ifd0, little);
  for (let i = 0; i < entries; i += 1) {
    const entry = ifd0 + 2 + 12 * i;
    if (view.getUint16(entry, little) === GPS_IFD_POINTER) {
      return view.getUint16(view.getUint32(entry + 8, little), little);
    }
  }
  return 0;
}
