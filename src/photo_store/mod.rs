//! Where photos' bytes live: an object store (`object_store`), a local directory by default or an
//! S3-compatible bucket (`PHOTO_STORE_URL=s3://bucket[/prefix]`, credentials, region and endpoint
//! from the usual `AWS_*` variables).
//!
//! Keys are random and say nothing about the patient: `photos/<uuid>` for a photo's served bytes
//! (fixed in its record before the first upload, so a retried upload replaces the one object),
//! `originals/<uuid>` for the bytes as uploaded when `PHOTO_KEEP_ORIGINAL` asks. An upload streams
//! towards its keys while it is hashed, sniffed and stripped of metadata (`receive`), and nothing
//! appears under them before every check passed: bytes that fit in one part are put at once after
//! the checks, larger ones go as a multipart upload that is completed only then (and aborted
//! otherwise). Only then does the record become verified. `sweeper` removes what a crash or an
//! erasure left behind, and what older versions left under `staging/`.

pub mod probe;
pub mod renditions;
pub mod strip;
pub mod sweeper;

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::domain::PhotoType;
use crate::error::{AppError, StartupError};

pub const STAGING: &str = "staging";
pub const OBJECTS: &str = "photos";
pub const ORIGINALS: &str = "originals";

/// How many parts of one upload may be on their way to the store at once.
const PARTS_IN_FLIGHT: usize = 2;

pub struct PhotoStore {
    store: Arc<dyn ObjectStore>,
    /// Uploads started per patient, for `PHOTO_UPLOADS_PER_WINDOW` (counted per replica).
    recent_uploads: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
    /// The directory of a local store: the sweeper also looks there for unfinished uploads, which
    /// the store itself does not list.
    local_root: Option<PathBuf>,
    /// Bytes buffered before a part goes to the store (S3 wants at least 5 MiB but the last).
    part_size: usize,
    description: String,
}

/// What the photo's record says its bytes are.
pub struct Expected {
    pub content_type: PhotoType,
    pub byte_size: i64,
    pub sha256: String,
}

/// Where one photo's bytes go: its record's keys.
pub struct Keys {
    pub object: String,
    pub original: Option<String>,
}

pub fn new_key(prefix: &str) -> String {
    format!("{prefix}/{}", uuid::Uuid::new_v4().simple())
}

fn store_error(e: object_store::Error) -> AppError {
    match e {
        object_store::Error::NotFound { .. } => AppError::NotFound,
        other => AppError::Unavailable(format!("photo store: {other}")),
    }
}

impl PhotoStore {
    /// `s3://bucket[/prefix]`, `memory://`, `file:///absolute/dir`, or a directory (created if
    /// missing).
    pub fn open(url: &str) -> Result<PhotoStore, StartupError> {
        let config = |e: object_store::Error| StartupError::Config(format!("PHOTO_STORE_URL `{url}`: {e}"));
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).build().map_err(config)?;
            let store: Arc<dyn ObjectStore> = match prefix.trim_matches('/') {
                "" => Arc::new(s3),
                prefix => Arc::new(object_store::prefix::PrefixStore::new(s3, prefix)),
            };
            return Ok(PhotoStore {
                recent_uploads: Default::default(),
                store,
                local_root: None,
                part_size: 5 * 1024 * 1024,
                description: format!("s3://{rest}"),
            });
        }
        if url == "memory://" {
            return Ok(PhotoStore {
                recent_uploads: Default::default(),
                store: Arc::new(object_store::memory::InMemory::new()),
                local_root: None,
                part_size: 256 * 1024,
                description: url.into(),
            });
        }
        let dir = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        std::fs::create_dir_all(&dir)
            .map_err(|e| StartupError::Config(format!("PHOTO_STORE_URL: cannot create {}: {e}", dir.display())))?;
        let dir = dir.canonicalize()?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(config)?;
        Ok(PhotoStore {
            recent_uploads: Default::default(),
            store: Arc::new(local),
            description: format!("directory {}", dir.display()),
            local_root: Some(dir),
            part_size: 1024 * 1024,
        })
    }

    /// Counts an upload by `patient_id`; 429 when they already started `limit` within `window`.
    /// Counted per replica, in memory: a bound on what one phone can make one server do.
    pub fn admit_upload(&self, patient_id: &str, limit: i64, window: std::time::Duration) -> Result<(), AppError> {
        let now = std::time::Instant::now();
        let mut recent = self.recent_uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.retain(|_, starts| starts.back().is_some_and(|last| now.duration_since(*last) < window));
        let starts = recent.entry(patient_id.to_string()).or_default();
        while starts.front().is_some_and(|first| now.duration_since(*first) >= window) {
            starts.pop_front();
        }
        if starts.len() as i64 >= limit {
            let wait = window.saturating_sub(now.duration_since(*starts.front().expect("at least one")));
            return Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) });
        }
        starts.push_back(now);
        Ok(())
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Streams an upload to its keys: hashes it, checks its signature against the declared type
    /// (415 for what is no photo, 422 for another type than declared) and its size (413 past it,
    /// 422 short of it) and SHA-256 (422), stripping metadata from the copy that will be served
    /// (`keys.object`; `keys.original` gets the bytes as uploaded). Returns whether metadata was
    /// removed. `last_check` runs on the whole body before anything is written under the keys (the
    /// caller's own checks: the pixel size). The keys are written only when every check passed; nothing stays behind when the
    /// upload is refused or the body fails, and what was under the keys stays as it was.
    pub async fn receive<S, E>(
        &self,
        expected: &Expected,
        body: S,
        keys: &Keys,
        last_check: impl FnOnce() -> Result<(), AppError>,
    ) -> Result<bool, AppError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut upload = Upload::new(self, expected, keys).await?;
        match upload.read(expected, body).await.and_then(|()| last_check()) {
            Ok(()) => {
                let metadata_removed = upload.filter.is_some();
                upload.finish(self).await?;
                Ok(metadata_removed)
            }
            Err(e) => {
                upload.abort().await;
                Err(e)
            }
        }
    }

    /// The object's size and its bytes as a stream.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<(u64, impl Stream<Item = Result<Bytes, object_store::Error>> + use<>), AppError> {
        let found = self.store.get(&Path::from(key)).await.map_err(store_error)?;
        Ok((found.meta.size, found.into_stream()))
    }

    /// Deletes an object; one already gone is fine. Failures are logged: the sweeper retries.
    pub async fn remove(&self, key: &str) {
        self.remove_path(&Path::from(key)).await
    }

    async fn remove_path(&self, path: &Path) {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(key = %path, error = %e, "a photo object could not be deleted; the sweeper will"),
        }
    }

    /// Writes `bytes` under `key` at once (seeded demo data and derived images, which are small).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), AppError> {
        self.store.put(&Path::from(key), bytes.into()).await.map_err(store_error)?;
        Ok(())
    }

    /// The keys under `prefix` (`photos`, `staging`...), and for a local store the unfinished
    /// uploads the store does not list; for tests and operators.
    pub async fn objects(&self, prefix: &str) -> Result<Vec<String>, AppError> {
        let mut keys: Vec<String> = Vec::new();
        let mut listing = self.store.list(Some(&Path::from(prefix)));
        while let Some(meta) = listing.next().await {
            keys.push(meta.map_err(store_error)?.location.to_string());
        }
        if let Some(entries) = self.local_root.as_ref().and_then(|root| std::fs::read_dir(root.join(prefix)).ok()) {
            for entry in entries.flatten() {
                let key = format!("{prefix}/{}", entry.file_name().to_string_lossy());
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    pub(crate) fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn local_root(&self) -> Option<&std::path::Path> {
        self.local_root.as_deref()
    }
}

/// One upload on its way to its keys.
struct Upload {
    served: Sink,
    original: Option<Sink>,
    hasher: Sha256,
    received: u64,
    head: Vec<u8>,
    kind: Option<PhotoType>,
    filter: Option<Box<dyn strip::Strip + Send>>,
    out: Vec<u8>,
}

/// Where one stream of bytes goes: straight to its key, where nothing appears before `finish`.
/// Bytes that fit in one part are written with one `put` (on S3 one request, where a multipart
/// upload takes three); more go as a multipart upload, its parts written while the rest arrives,
/// whose object appears only when it completes (S3 makes it then; a local store writes a hidden
/// `<key>#<n>` file and renames it).
enum Sink {
    Whole { path: Path, bytes: Vec<u8> },
    Parts(WriteMultipart),
}

impl Sink {
    async fn start(store: &PhotoStore, key: &str, size: usize) -> Result<Sink, AppError> {
        let path = Path::from(key);
        // One part: a multipart upload would send it only at the end too, with three requests.
        if size <= store.part_size {
            return Ok(Sink::Whole { path, bytes: Vec::with_capacity(size) });
        }
        let upload = store.store.put_multipart(&path).await.map_err(store_error)?;
        Ok(Sink::Parts(WriteMultipart::new_with_chunk_size(upload, store.part_size)))
    }

    fn write(&mut self, bytes: &[u8]) {
        match self {
            Sink::Whole { bytes: whole, .. } => whole.extend_from_slice(bytes),
            Sink::Parts(parts) => parts.write(bytes),
        }
    }

    async fn wait_for_capacity(&mut self) -> Result<(), AppError> {
        match self {
            Sink::Whole { .. } => Ok(()),
            Sink::Parts(parts) => parts.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(store_error),
        }
    }

    async fn finish(self, store: &PhotoStore) -> Result<(), AppError> {
        match self {
            Sink::Whole { path, bytes } => store.store.put(&path, bytes.into()).await.map_err(store_error)?,
            Sink::Parts(parts) => parts.finish().await.map_err(store_error)?,
        };
        Ok(())
    }

    /// Aborting a multipart upload removes its parts; nothing was written under its key.
    async fn abort(self) {
        if let Sink::Parts(parts) = self
            && let Err(e) = parts.abort().await
        {
            tracing::warn!(error = %e, "an unfinished photo upload could not be aborted; the sweeper will remove it");
        }
    }
}

impl Upload {
    async fn new(store: &PhotoStore, expected: &Expected, keys: &Keys) -> Result<Upload, AppError> {
        let size = usize::try_from(expected.byte_size).unwrap_or(usize::MAX);
        let served = Sink::start(store, &keys.object, size).await?;
        let original = match &keys.original {
            Some(key) => match Sink::start(store, key, size).await {
                Ok(started) => Some(started),
                Err(e) => {
                    served.abort().await;
                    return Err(e);
                }
            },
            None => None,
        };
        Ok(Upload {
            served,
            original,
            hasher: Sha256::new(),
            received: 0,
            head: Vec::new(),
            kind: None,
            filter: None,
            out: Vec::new(),
        })
    }

    async fn read<S, E>(&mut self, expected: &Expected, body: S) -> Result<(), AppError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("the upload broke off: {e}")))?;
            self.received += chunk.len() as u64;
            if self.received > expected.byte_size as u64 {
                return Err(AppError::PayloadTooLarge { limit: expected.byte_size as usize });
            }
            self.hasher.update(&chunk);
            if let Some(original) = &mut self.original {
                original.write(&chunk);
            }
            if self.kind.is_none() {
                self.head.extend_from_slice(&chunk);
                if self.head.len() < strip::SNIFF_BYTES {
                    continue;
                }
                let head = std::mem::take(&mut self.head);
                self.decide(expected, &head)?;
                self.pass(&head)?;
            } else {
                self.pass(&chunk)?;
            }
            self.served.wait_for_capacity().await?;
            if let Some(original) = &mut self.original {
                original.wait_for_capacity().await?;
            }
        }
        if self.kind.is_none() {
            let head = std::mem::take(&mut self.head);
            self.decide(expected, &head)?;
            self.pass(&head)?;
        }
        if self.received != expected.byte_size as u64 {
            return Err(AppError::invalid(
                "byte_size",
                format!("{} bytes arrived, the photo declares {}", self.received, expected.byte_size),
            ));
        }
        let sha256 = hex::encode(self.hasher.clone().finalize());
        if sha256 != expected.sha256 {
            return Err(AppError::invalid("sha256", format!("the bytes that arrived have SHA-256 {sha256}")));
        }
        if let Some(filter) = &self.filter {
            filter.finish().map_err(|e| AppError::invalid("content", e))?;
        }
        Ok(())
    }

    fn decide(&mut self, expected: &Expected, head: &[u8]) -> Result<(), AppError> {
        let kind = strip::sniff(head).ok_or_else(|| {
            AppError::UnsupportedMediaType("the bytes are not a JPEG, PNG, HEIC/HEIF or WebP image".into())
        })?;
        if kind != expected.content_type {
            return Err(AppError::invalid(
                "content_type",
                format!("the bytes are {kind}, the photo declares {}", expected.content_type),
            ));
        }
        self.kind = Some(kind);
        self.filter = strip::filter_for(kind);
        Ok(())
    }

    fn pass(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        match &mut self.filter {
            Some(filter) => {
                self.out.clear();
                filter.push(bytes, &mut self.out).map_err(|e| AppError::invalid("content", e))?;
                self.served.write(&self.out);
            }
            None => self.served.write(bytes),
        }
        Ok(())
    }

    /// Puts the verified bytes under their keys: the original first, so that a served object
    /// never stands without the original it was asked to keep.
    async fn finish(self, store: &PhotoStore) -> Result<(), AppError> {
        if let Some(original) = self.original
            && let Err(e) = original.finish(store).await
        {
            self.served.abort().await;
            return Err(e);
        }
        self.served.finish(store).await
    }

    async fn abort(self) {
        self.served.abort().await;
        if let Some(original) = self.original {
            original.abort().await;
        }
    }
}
