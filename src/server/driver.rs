//! The I/O driver choice: compio's io_uring driver (default on Linux) or its polling
//! driver (epoll), the portable backend. Nothing outside `server/` names either.

use compio::driver::{DriverType, ProactorBuilder};
use compio::runtime::{Runtime, RuntimeBuilder};

use crate::config::IoBackend;

/// Builds a shard's runtime on the requested backend. `Auto` tries io_uring first and
/// falls back to polling with a log line (older kernels, seccomp profiles without
/// io_uring); `Uring` fails instead of falling back.
pub fn build_runtime(backend: IoBackend) -> std::io::Result<Runtime> {
    match backend {
        IoBackend::Portable => with_driver(DriverType::Poll),
        IoBackend::Uring => with_driver(DriverType::IoUring),
        IoBackend::Auto => with_driver(DriverType::IoUring).or_else(|e| {
            tracing::warn!("io_uring cannot be set up ({e}); using the portable polling driver");
            with_driver(DriverType::Poll)
        }),
    }
}

fn with_driver(driver: DriverType) -> std::io::Result<Runtime> {
    let mut proactor = ProactorBuilder::new();
    proactor.driver_type(driver).capacity(1024);
    RuntimeBuilder::new().with_proactor(proactor).build()
}

/// Resolves `Auto` to the backend that this machine will actually run, by building one
/// runtime (used once at start, so every shard logs the same choice).
pub fn resolve(backend: IoBackend) -> std::io::Result<IoBackend> {
    if backend != IoBackend::Auto {
        return Ok(backend);
    }
    let runtime = build_runtime(IoBackend::Auto)?;
    Ok(if runtime.driver_type().is_iouring() {
        IoBackend::Uring
    } else {
        IoBackend::Portable
    })
}
