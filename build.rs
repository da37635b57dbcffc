//! `sqlx::migrate!` embeds `migrations/` when the crate compiles, and Cargo does not notice a
//! file added there by itself: this makes a new or changed migration rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
