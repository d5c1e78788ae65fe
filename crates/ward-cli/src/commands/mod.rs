//! One module per command noun.

pub mod audit;
pub mod bench;
pub mod bench_router;
pub mod bundle;
pub mod change;
pub mod config_check;
pub mod debug;
pub mod demo;
pub mod demo_release;
pub mod dr;
pub mod evidence;
pub mod gate;
pub mod init;
pub mod keys;
pub mod log;
pub mod login;
pub mod metrics;
pub mod promote;
pub mod purge;
pub mod rollout;
pub mod serve;
pub mod slo;
pub mod token;
pub mod verify;
