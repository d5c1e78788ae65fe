//! One module per command noun.

pub mod bench;
pub mod debug;
pub mod demo;
pub mod init;
pub mod log;
pub mod verify;
