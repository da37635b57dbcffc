//! placeholder for type-checking only
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct ClusterError;
pub struct ClusterOptions { pub data_dir: PathBuf, pub ephemeral: bool, pub unsafe_fast: bool, pub bin_dir: Option<PathBuf>, pub run_as: String }
impl ClusterOptions { pub fn ephemeral_in_temp() -> Self { ClusterOptions { data_dir: PathBuf::new(), ephemeral: true, unsafe_fast: true, bin_dir: None, run_as: String::new() } } }
pub struct PrivateCluster { d: PathBuf }
impl PrivateCluster {
    pub fn start(opts: ClusterOptions) -> Result<Self, ClusterError> { let _ = opts; Err(ClusterError) }
    pub fn url(&self, db: &str) -> String { db.to_owned() }
    pub fn socket_dir(&self) -> &Path { &self.d }
    pub fn data_dir(&self) -> &Path { &self.d }
    pub fn stop_server(&mut self) -> Result<(), ClusterError> { Ok(()) }
    pub fn start_server(&mut self) -> Result<(), ClusterError> { Ok(()) }
    pub fn shutdown(&mut self) -> Result<(), ClusterError> { Ok(()) }
}
