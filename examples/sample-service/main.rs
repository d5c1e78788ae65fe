//! The `ward-sample-service` binary: see `service.rs`.

fn main() {
    ward_runtime::sample::main();
}
