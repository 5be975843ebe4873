//! Reading a notes zip within limits a zip bomb cannot get around: the
//! number of files, each file's size and the size of them all, counted in
//! bytes actually decompressed (never taken from the zip's headers).

use std::io::{Cursor, Read};
use std::sync::Arc;

use super::export::{from_markdown, Parsed};
use super::model::BODY_MAX;

/// Most files one import reads.
const FILES_MAX: usize = 5_000;
/// Largest file inside the zip, uncompressed (the body limit plus room for
/// the front matter).
const FILE_BYTES_MAX: u64 = (BODY_MAX as u64) * 4 + 16_384;

/// A size for people: "20 MiB", "64 KiB", "900 bytes".
pub fn size_label(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b.is_multiple_of(MIB) => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A zip whose every note file was read and found good, within the limits.
/// Its notes are read again a batch at a time as they are stored, so an
/// import never holds more than a batch of notes in memory.
pub struct Checked {
    /// The zip as uploaded.
    pub bytes: Arc<Vec<u8>>,
    /// The archive indexes of its note files, in order.
    pub files: Vec<usize>,
}

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

fn open(bytes: &[u8]) -> Result<Archive<'_>, String> {
    zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| "This is not a zip file. Nothing was imported.".to_string())
}

/// File `i` of the archive, decompressed into `raw` (reused from file to
/// file) and parsed; None when it is not a note file. At most `room` bytes
/// are decompressed (one more tells that there was more), whatever the
/// zip's headers claim; `max_total` is only for the message.
fn read_note(
    archive: &mut Archive<'_>,
    i: usize,
    raw: &mut Vec<u8>,
    room: u64,
    max_total: u64,
) -> Result<Option<Parsed>, String> {
    let file = archive
        .by_index(i)
        .map_err(|e| format!("The zip cannot be read: {e}. Nothing was imported."))?;
    let name = file
        .name()
        .map_err(|_| "A file name in the zip cannot be read. Nothing was imported.".to_string())?
        .to_string();
    if file.is_dir() || !name.to_ascii_lowercase().ends_with(".md") {
        return Ok(None);
    }
    raw.clear();
    file.take(FILE_BYTES_MAX.min(room) + 1)
        .read_to_end(raw)
        .map_err(|e| format!("{name}: cannot be read: {e}. Nothing was imported."))?;
    let len = raw.len() as u64;
    if len > FILE_BYTES_MAX {
        return Err(format!(
            "{name}: the file is too large. Nothing was imported."
        ));
    }
    if len > room {
        return Err(format!(
            "The files in this zip unpack to more than {}, the most one import may hold. \
             Nothing was imported: split the notes into smaller zips.",
            size_label(max_total)
        ));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| format!("{name}: not UTF-8 text. Nothing was imported."))?;
    from_markdown(&name, text)
        .map(Some)
        .map_err(|e| format!("{e} Nothing was imported."))
}

/// Read and check every `.md` file of a zip, keeping none: the first
/// problem refuses the lot, with a message for the person. At most
/// `max_total` bytes are decompressed in all.
pub fn check_zip(bytes: Vec<u8>, max_total: u64) -> Result<Checked, String> {
    let mut archive = open(&bytes)?;
    if archive.len() > FILES_MAX {
        return Err(format!(
            "The zip holds more than {FILES_MAX} files, the most one import may hold. \
             Nothing was imported: split the notes into smaller zips."
        ));
    }
    let mut files = Vec::new();
    let mut raw = Vec::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        if read_note(&mut archive, i, &mut raw, max_total - total, max_total)?.is_some() {
            total += raw.len() as u64;
            files.push(i);
        }
    }
    drop(archive);
    Ok(Checked {
        bytes: Arc::new(bytes),
        files,
    })
}

/// The notes at `files` of a zip [`check_zip`] accepted.
pub fn notes_at(bytes: &[u8], files: &[usize]) -> Result<Vec<Parsed>, String> {
    let mut archive = open(bytes)?;
    let mut raw = Vec::new();
    let mut notes = Vec::with_capacity(files.len());
    for &i in files {
        notes.extend(read_note(
            &mut archive,
            i,
            &mut raw,
            FILE_BYTES_MAX,
            u64::MAX,
        )?);
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `n` notes of 10,000 letters whose headers all claim that
    /// each unpacks to `claim` bytes.
    fn lying_zip(n: usize, claim: u32) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..n {
            zip.start_file(format!("{i}.md"), options).unwrap();
            zip.write_all("x".repeat(10_000).as_bytes()).unwrap();
        }
        let mut bytes = zip.finish().unwrap().into_inner();
        // The uncompressed size: at 22 in a local header, at 24 in a central one.
        for (sig, at) in [
            ([0x50, 0x4b, 0x03, 0x04], 22),
            ([0x50, 0x4b, 0x01, 0x02], 24),
        ] {
            let mut i = 0;
            while i + at + 4 <= bytes.len() {
                if bytes[i..i + 4] == sig {
                    bytes[i + at..i + at + 4].copy_from_slice(&claim.to_le_bytes());
                }
                i += 1;
            }
        }
        bytes
    }

    #[test]
    fn headers_claiming_less_than_the_files_hold_do_not_get_past_the_limits() {
        let err = check_zip(lying_zip(10, 10), 50_000).err().expect("refused");
        assert!(err.contains("Nothing was imported"), "{err}");
    }

    #[test]
    fn headers_claiming_more_than_the_files_hold_are_not_believed_either() {
        // 4 GB each claimed, 10 kB each held: the 100 kB unpacked is what counts.
        let checked = check_zip(lying_zip(10, u32::MAX - 1), 200_000).expect("accepted");
        assert_eq!(checked.files.len(), 10);
        let notes = notes_at(&checked.bytes, &checked.files).expect("read again");
        assert!(notes.iter().all(|n| n.note.body.len() == 10_000));
    }

    #[test]
    fn sizes_read_plainly() {
        assert_eq!(size_label(20 * 1024 * 1024), "20 MiB");
        assert_eq!(size_label(1536 * 1024), "1.5 MiB");
        assert_eq!(size_label(64 * 1024), "64 KiB");
        assert_eq!(size_label(900), "900 bytes");
    }
}
