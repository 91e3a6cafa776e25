// Release builds embed web/dist (see src/console.rs): rebuild when the console is rebuilt, new
// hashed file names included, which the embedding macro alone would not notice.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
